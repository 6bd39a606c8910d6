/**
 * `npm run bench -- fuzz [--bodies=10000] [--seed=1]`: sends fuzzed chat-completion bodies (wrong types, deep
 * nesting, odd unicode, huge values, random extra fields, mutated valid requests) to a real server on loopback
 * and counts the statuses. The server must answer every one with a 2xx or a 4xx — any 5xx or a crash is a bug.
 * A reliability figure for the README, run by hand (not in CI).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Engine } from '../../engine/engine.js';
import { defaultServerConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { mulberry32 } from './corpus.js';

const option = (args: string[], name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

type Random = () => number;
const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)]!;

const STRINGS = [
  '',
  'hi',
  '\u0000',
  '\uD800',
  '🦜'.repeat(50),
  'a'.repeat(5000),
  '[INST]',
  '</s>',
  '{"a":1}',
  '\u202e',
];
const IMAGE = `data:image/png;base64,${readFileSync('examples/shapes.png').toString('base64')}`;

/** Any JSON value, nested up to `depth`. */
function value(random: Random, depth: number): unknown {
  const kind = Math.floor(random() * (depth > 0 ? 9 : 7));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return pick(random, [0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 1e-320, 7]);
    case 3:
    case 4:
      return pick(random, STRINGS);
    case 5:
      return Math.floor(random() * 100);
    case 6:
      return pick(random, ['user', 'assistant', 'system', 'tool', 'image_url', 'text', 'function']);
    case 7:
      return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth - 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(random() * 4) }, () => [
          pick(random, ['role', 'content', 'type', 'text', 'image_url', 'url', 'x', 'name', 'tool_calls']),
          value(random, depth - 1),
        ]),
      );
  }
}

/** A valid request to start from: text, an image, tools, JSON mode. */
function validBody(random: Random, model: string): Record<string, unknown> {
  const content =
    random() < 0.3
      ? [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: IMAGE },
        ]
      : 'Say something.';
  const body: Record<string, unknown> = {
    model,
    messages: [{ role: 'user', content }],
    max_tokens: 1 + Math.floor(random() * 4),
    temperature: 0,
  };
  if (random() < 0.2) body.response_format = { type: 'json_object' };
  if (random() < 0.2)
    body.tools = [
      {
        type: 'function',
        function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string' } } } },
      },
    ];
  if (random() < 0.2) body.stream = true;
  return body;
}

const FIELDS = [
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'stream',
  'stop',
  'random_seed',
  'seed',
  'n',
  'tools',
  'tool_choice',
  'response_format',
  'safe_prompt',
  'presence_penalty',
  'frequency_penalty',
  'parallel_tool_calls',
  'continue_final_message',
  'unknown_field',
];

/** A fuzzed body: a mutated valid one, a random object, or a deeply nested / malformed text. */
function fuzzedBody(random: Random, model: string): string {
  const mode = random();
  if (mode < 0.05) return '['.repeat(5000) + ']'.repeat(5000);
  if (mode < 0.1) return JSON.stringify(validBody(random, model)).slice(0, Math.floor(random() * 60));
  if (mode < 0.2) return JSON.stringify(value(random, 4));
  const body = validBody(random, model);
  const mutations = 1 + Math.floor(random() * 3);
  for (let i = 0; i < mutations; i++) {
    const field = pick(random, FIELDS);
    if (random() < 0.15) delete body[field];
    else body[field] = value(random, 3);
  }
  if (body.max_tokens !== undefined && typeof body.max_tokens === 'number' && body.max_tokens > 8)
    body.max_tokens = 8;
  return JSON.stringify(body);
}

export async function run(args: string[]): Promise<void> {
  const bodies = Number(option(args, 'bodies', '10000'));
  const random = mulberry32(Number(option(args, 'seed', '1')));
  const fixture = resolve(option(args, 'fixture', '../shared/fixtures/tiny-pixtral'));
  const dataDir = mkdtempSync(join(tmpdir(), 'pixtral-fuzz-'));
  const model = 'fuzz';
  // A short context keeps any body that asks for a long answer quick.
  const engine = Engine.load(join(fixture, 'model-consolidated'), { maxContext: 512 });
  const server = await startServer({
    config: defaultServerConfig({ modelName: model, auth: false }),
    host: '127.0.0.1',
    port: 0,
    engine,
    dataDir,
    logger: false,
  });
  const statuses = new Map<number, number>();
  const serverErrors: string[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < bodies; i++) {
      const body = fuzzedBody(random, model);
      const res = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await res.text();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) serverErrors.push(body.slice(0, 300));
      if ((i + 1) % 1000 === 0) console.error(`fuzz: ${i + 1}/${bodies}`);
    }
    const ledger = await server.store.usage();
    const open = ledger.filter((row) => row.status === 'in_progress').length;
    console.log(
      `fuzz: ${bodies} bodies in ${((performance.now() - started) / 1000).toFixed(1)} s, node ${process.version}; ` +
        `${serverErrors.length} answers ≥ 500, ${open} ledger rows left open, the server still answers: ` +
        `${(await fetch(`${server.url}/health`)).status === 200}`,
    );
    console.table([...statuses].sort((a, b) => a[0] - b[0]).map(([status, count]) => ({ status, count })));
    for (const body of serverErrors.slice(0, 5)) console.log(`5xx for: ${body}`);
    if (serverErrors.length > 0 || open > 0) process.exitCode = 1;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
