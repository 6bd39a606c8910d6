/**
 * What structured output costs per token: the fixture model decodes with 1 and 8 sequences at temperature 1,
 * plain and constrained (json_object, a receipt-like schema), and the difference per decode step is set
 * against a 12B q4 decode step of this machine (`--step-ms`, default 315 ms: Pixtral TS's 3.17–3.21 tok/s on
 * the Zen 4 in /work/shared/docs/performance-notes.md — building the 12B here would take minutes and GBs).
 * Each case runs cold (fresh mask cache) and then warm; the mask-cache hit rate is reported for each run.
 *
 *   npm run bench -- grammar [--step-ms=315] [--tokens=96] [--fixture=DIR]
 */
import { join, resolve } from 'node:path';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { Engine } from '../../engine/engine.js';
import { maskStats } from '../../generate/grammar/token-mask.js';
import type { GenerationEvent } from '../../generate/sequence.js';

const RECEIPT = {
  type: 'object',
  properties: {
    merchant: { type: 'string', maxLength: 40 },
    date: { type: 'string', format: 'date' },
    items: {
      type: 'array',
      maxItems: 5,
      items: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 30 }, cents: { type: 'integer', minimum: 0 } },
        required: ['name', 'cents'],
      },
    },
    total_cents: { type: 'integer', minimum: 0, maximum: 10000000 },
    paid: { type: 'boolean' },
  },
  required: ['merchant', 'items', 'total_cents'],
};

const MODES: Record<string, unknown> = {
  plain: undefined,
  json_object: { type: 'json_object' },
  receipt: { type: 'json_schema', json_schema: { name: 'receipt', schema: RECEIPT } },
};

function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
}

/** Three requests of `n` choices (seeds `seed`…`seed+2`, so one short answer cannot skew a row): summed. */
async function timed(engine: Engine, n: number, tokens: number, format: unknown, seed: number) {
  const total = { ms: 0, steps: 0, tokens: 0 };
  for (let s = seed; s < seed + 3; s++) {
    const r = await request(engine, n, tokens, format, s);
    total.ms += r.ms;
    total.steps += r.steps;
    total.tokens += r.tokens;
  }
  return total;
}

/** One request of `n` choices: wall time, decode steps (the longest choice) and tokens. */
async function request(engine: Engine, n: number, tokens: number, format: unknown, seed: number) {
  const body = {
    messages: [{ role: 'user', content: 'Extract the receipt as JSON.' }],
    temperature: 1,
    seed,
    n,
    max_tokens: tokens,
    ...(format !== undefined && { response_format: format }),
  };
  const prompt = await engine.prepare(validateCompletionRequest(body, { maxChoices: 8 }));
  const started = performance.now();
  const counts = await Promise.all(
    Array.from({ length: n }, async (_, choice) => {
      let done = 0;
      for await (const e of engine.generate(prompt, choice) as AsyncIterable<GenerationEvent>)
        if (e.type === 'done') done = e.usage.completionTokens;
      return done;
    }),
  );
  const ms = performance.now() - started;
  return { ms, steps: Math.max(...counts), tokens: counts.reduce((a, b) => a + b, 0) };
}

export async function run(args: string[]): Promise<void> {
  const stepMs = option(args, 'step-ms', 315);
  const tokens = option(args, 'tokens', 96);
  const fixture = resolve(
    args.find((a) => a.startsWith('--fixture='))?.slice(10) ?? '../shared/fixtures/tiny-pixtral',
  );
  const engine = Engine.load(join(fixture, 'model-consolidated'));
  await request(engine, 1, 8, undefined, 0); // warm the model up

  console.log(
    `grammar: fixture model, temperature 1, max_tokens ${tokens}; 12B q4 decode step = ${stepMs} ms`,
  );
  const rows: Record<string, string | number>[] = [];
  for (const n of [1, 8]) {
    const plain = await timed(engine, n, tokens, undefined, 1);
    const plainStep = plain.ms / plain.steps;
    rows.push({ seqs: n, mode: 'plain', run: '', steps: plain.steps, 'ms/step': plainStep.toFixed(2) });
    for (const [mode, format] of Object.entries(MODES)) {
      if (format === undefined) continue;
      for (const runName of ['cold', 'warm']) {
        const before = { ...maskStats };
        const r = await timed(engine, n, tokens, format, runName === 'cold' ? 10 : 20);
        const hits = maskStats.hits - before.hits;
        const lookups = hits + maskStats.misses - before.misses;
        const step = r.ms / r.steps;
        const overhead = step - plainStep;
        rows.push({
          seqs: n,
          mode,
          run: runName,
          steps: r.steps,
          'ms/step': step.toFixed(2),
          'overhead ms/step': overhead.toFixed(2),
          'overhead ms/token': (overhead / n).toFixed(2),
          'share of 12B step': `${((100 * overhead) / stepMs).toFixed(2)}%`,
          'mask hit rate': lookups ? `${((100 * hits) / lookups).toFixed(1)}% of ${lookups}` : '-',
        });
      }
    }
  }
  console.table(rows);
  await engine.close?.();
}
