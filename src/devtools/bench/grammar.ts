/**
 * What structured output costs per token: the fixture model decodes with 1 and 8 sequences at temperature 1,
 * plain and constrained (json_object, a receipt-like schema). The grammar's cost is the time spent inside the
 * JSON constraint (every call the decode loop makes: the pick's check, masks, accepting, the closing check),
 * summed over the sequences and divided by the decode steps — it is what a 12B step would carry on top, set
 * against a 12B q4 decode step (`--step-ms`, default 315 ms: Pixtral TS's 3.17–3.21 tok/s on the Zen 4 in
 * /work/shared/docs/performance-notes.md, another machine — building the 12B here would take minutes and
 * GBs). Wall time per decode step (prefill left out) is shown beside it; it moves with the sampling too.
 * Each case runs cold (mask caches emptied) and then warm (the same requests again); json_object requests
 * whose answers are a few tokens long are swapped for the next seed, so the rows measure real documents.
 *
 *   npm run bench -- grammar [--step-ms=315] [--tokens=96] [--fixture=DIR]
 */
import { join, resolve } from 'node:path';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { Engine } from '../../engine/engine.js';
import { JsonConstraint } from '../../generate/grammar/token-constraint.js';
import { clearMaskCaches, maskStats } from '../../generate/grammar/token-mask.js';
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

const RECEIPT_PROMPT = 'Extract the receipt as JSON, every line item and the totals.';

type Mode = { format: unknown; prompt: string };
const PLAIN: Mode = { format: undefined, prompt: RECEIPT_PROMPT };

/** Response formats with a prompt each (to the receipt prompt the fixture model's json_object is `{}`). */
const MODES: Record<string, Mode> = {
  json_object: { format: { type: 'json_object' }, prompt: 'Write JSON.' },
  receipt: {
    format: { type: 'json_schema', json_schema: { name: 'receipt', schema: RECEIPT } },
    prompt: RECEIPT_PROMPT,
  },
};

function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  return hit ? Number(hit.slice(name.length + 3)) : fallback;
}

/** Milliseconds spent inside JsonConstraint's methods since the process started. */
const grammarClock = { ms: 0 };

/** Wraps the constraint's methods with the clock (the bench's own instrument; nested calls do not occur). */
function timeConstraint(): void {
  const proto = JsonConstraint.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const name of ['allows', 'maskRefused', 'maskIfCached', 'accept', 'fitsAfter', 'closingTokens']) {
    const original = proto[name]!;
    proto[name] = function (this: unknown, ...args: unknown[]) {
      const started = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        grammarClock.ms += performance.now() - started;
      }
    };
  }
}

interface Totals {
  /** Wall time of the decode steps after each request's first token (prefill left out). */
  decodeMs: number;
  decodeSteps: number;
  steps: number;
  tokens: number;
  grammarMs: number;
  stopped: number;
}

/** Requests of `n` choices for `seeds`, summed. */
async function timed(engine: Engine, n: number, tokens: number, mode: Mode, seeds: number[]) {
  const total: Totals = { decodeMs: 0, decodeSteps: 0, steps: 0, tokens: 0, grammarMs: 0, stopped: 0 };
  for (const seed of seeds) {
    const r = await request(engine, n, tokens, mode, seed);
    for (const k of Object.keys(total) as (keyof Totals)[]) total[k] += r[k];
  }
  return total;
}

/** Seeds whose `n`-choice requests give answers of at least a quarter of `tokens` (three of the first 30). */
async function longSeeds(engine: Engine, n: number, tokens: number, mode: Mode): Promise<number[]> {
  const seeds: number[] = [];
  for (let seed = 10; seed < 40 && seeds.length < 3; seed++)
    if ((await request(engine, n, tokens, mode, seed)).steps >= tokens / 4) seeds.push(seed);
  return seeds;
}

/** One request of `n` choices: decode wall time, steps (the longest choice), tokens and grammar time. */
async function request(engine: Engine, n: number, tokens: number, mode: Mode, seed: number) {
  const { format, prompt: content } = mode;
  const body = {
    messages: [{ role: 'user', content }],
    temperature: 1,
    seed,
    n,
    max_tokens: tokens,
    ...(format !== undefined && { response_format: format }),
  };
  const prompt = await engine.prepare(validateCompletionRequest(body, { maxChoices: 8 }));
  const grammarBefore = grammarClock.ms;
  let firstToken = Infinity;
  let stopped = 0;
  const counts = await Promise.all(
    Array.from({ length: n }, async (_, choice) => {
      let done = 0;
      for await (const e of engine.generate(prompt, choice) as AsyncIterable<GenerationEvent>) {
        firstToken = Math.min(firstToken, performance.now());
        if (e.type === 'done') {
          done = e.usage.completionTokens;
          if (e.finishReason === 'stop') stopped++;
        }
      }
      return done;
    }),
  );
  const steps = Math.max(...counts);
  return {
    decodeMs: performance.now() - firstToken,
    decodeSteps: steps - 1,
    steps,
    tokens: counts.reduce((a, b) => a + b, 0),
    grammarMs: grammarClock.ms - grammarBefore,
    stopped,
  };
}

export async function run(args: string[]): Promise<void> {
  const stepMs = option(args, 'step-ms', 315);
  const tokens = option(args, 'tokens', 96);
  const fixture = resolve(
    args.find((a) => a.startsWith('--fixture='))?.slice(10) ?? '../shared/fixtures/tiny-pixtral',
  );
  timeConstraint();
  const engine = Engine.load(join(fixture, 'model-consolidated'));
  await request(engine, 1, 8, PLAIN, 0); // warm the model up

  console.log(
    `grammar: fixture model, temperature 1, max_tokens ${tokens}; 12B q4 decode step = ${stepMs} ms (another machine's)`,
  );
  const rows: Record<string, string | number>[] = [];
  for (const n of [1, 8]) {
    const plain = await timed(engine, n, tokens, PLAIN, [1, 2, 3]);
    rows.push({
      seqs: n,
      mode: 'plain',
      run: '',
      steps: plain.steps,
      'wall ms/step': (plain.decodeMs / plain.decodeSteps).toFixed(2),
    });
    for (const [name, mode] of Object.entries(MODES)) {
      const seeds = name === 'json_object' ? await longSeeds(engine, n, tokens, mode) : [10, 11, 12];
      for (const runName of ['cold', 'warm']) {
        if (runName === 'cold') clearMaskCaches();
        const before = { ...maskStats };
        const r = await timed(engine, n, tokens, mode, seeds);
        const hits = maskStats.hits - before.hits;
        const lookups = hits + maskStats.misses - before.misses;
        const grammarStep = r.grammarMs / r.steps;
        rows.push({
          seqs: n,
          mode: name,
          run: runName,
          steps: r.steps,
          stopped: `${r.stopped}/${seeds.length * n}`,
          'wall ms/step': (r.decodeMs / r.decodeSteps).toFixed(2),
          'grammar ms/step': grammarStep.toFixed(2),
          'grammar ms/token': (r.grammarMs / r.tokens).toFixed(3),
          'share of 12B step': `${((100 * grammarStep) / stepMs).toFixed(2)}%`,
          'mask hit rate': lookups ? `${((100 * hits) / lookups).toFixed(1)}% of ${lookups}` : '-',
        });
      }
    }
  }
  console.table(rows);
  await engine.close?.();
}
