/**
 * Server load benchmark: a real server on loopback (fixture model in the engine worker, SQLite ledger, keys on)
 * driven by 1, 8 and 32 concurrent streaming clients. Reports throughput, latency and time to first token
 * per level, and the aggregate decode rate at 8 streams relative to 1 — what continuous batching buys.
 *
 *   npm run bench -- server [--tokens=32] [--requests=2] [--levels=1,8,32] [--fixture=DIR]
 *   npm run bench -- server --synthetic=12b [--layers=40] [--quant=q4] [--levels=1,8]
 *
 * `--synthetic=12b` serves random weights of Pixtral-12B's shapes (the text model `pixtral bench --synthetic 12b`
 * writes for its text tests, made here on first use), so the batching figures are those of a model whose steps
 * are compute-bound.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultServerConfig } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { readSse } from '../../server/sse-reader.js';
import { loadNativeAddon } from '../../backend/native/addon.js';
import { Engine } from '../../engine/engine.js';
import { writeSyntheticModel } from '../benchmark/synthetic-12b.js';

function option(args: string[], name: string, fallback: string): string {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
}

interface RequestTiming {
  ttft: number;
  total: number;
  tokens: number;
}

async function streamOnce(url: string, key: string, prompt: string, tokens: number): Promise<RequestTiming> {
  const started = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'bench',
      messages: [{ role: 'user', content: prompt }],
      max_tokens: tokens,
      temperature: 0.7,
      random_seed: 1,
      stream: true,
    }),
  });
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  let ttft = 0;
  let completion = 0;
  for await (const frame of readSse(res.body)) {
    if (frame.data === '[DONE]') break;
    const chunk = JSON.parse(frame.data);
    if (!ttft && chunk.choices[0]?.delta?.content) ttft = performance.now() - started;
    if (chunk.usage) completion = chunk.usage.completion_tokens;
  }
  return { ttft, total: performance.now() - started, tokens: completion };
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
};

function modelToServe(args: string[]): { dir: string; label: string } | undefined {
  const synthetic = option(args, 'synthetic', '');
  if (synthetic) {
    if (synthetic !== '12b') throw new Error(`--synthetic takes 12b, got ${synthetic}`);
    const quant = option(args, 'quant', 'q4');
    if (quant !== 'q4' && quant !== 'q8') throw new Error(`--quant takes q4 or q8, got ${quant}`);
    const layers = Number(option(args, 'layers', '40'));
    if (!Number.isInteger(layers) || layers < 1 || layers > 40)
      throw new Error(`--layers takes a whole number from 1 to 40, got ${option(args, 'layers', '')}`);
    if (!loadNativeAddon()) throw new Error('--synthetic needs the native kernels (npm run build:native)');
    let shown = -1;
    const dir = writeSyntheticModel({ layers, visionLayers: 1, quant }, (done, total) => {
      const pct = Math.floor((100 * done) / total);
      if (pct % 10 === 0 && pct !== shown)
        console.log(`writing the synthetic ${quant} model: ${(shown = pct)}%`);
    });
    return { dir, label: `synthetic Pixtral-12B shapes, ${layers} layers, ${quant}` };
  }
  const fixture = resolve(option(args, 'fixture', '../shared/fixtures/tiny-pixtral'));
  const dir = join(fixture, 'model-consolidated');
  if (!existsSync(dir)) {
    console.log(`server benchmark: no fixture model at ${dir}; skipping`);
    return undefined;
  }
  return { dir, label: 'fixture model' };
}

export async function run(args: string[]): Promise<void> {
  const model = modelToServe(args);
  if (!model) return;
  const modelDir = model.dir;
  const tokens = Number(option(args, 'tokens', '32'));
  const perClient = Number(option(args, 'requests', '2'));
  const levels = option(args, 'levels', '1,8,32').split(',').map(Number);
  const dataDir = mkdtempSync(join(tmpdir(), 'pixtral-bench-'));
  const config = defaultServerConfig({ modelName: 'bench' });
  // As `pixtral serve` runs it: the model in the engine worker thread.
  const engine = await Engine.inWorker(modelDir, {
    scheduler: { maxBatch: Math.max(...levels), maxQueue: 1024 },
  });
  const server = await startServer({
    config,
    host: '127.0.0.1',
    port: 0,
    engine,
    dataDir,
    logger: false,
  });
  const key = (await server.store.createKey('bench', 'paid')).secret;
  try {
    await streamOnce(server.url, key, 'warm up', 4);
    const rows = [];
    for (const clients of levels) {
      const stepsBefore = server.engine.stats().decodeSteps;
      const started = performance.now();
      const timings = (
        await Promise.all(
          Array.from({ length: clients }, async (_, c) => {
            const mine: RequestTiming[] = [];
            for (let r = 0; r < perClient; r++)
              mine.push(await streamOnce(server.url, key, `Client ${c} asks question ${r}.`, tokens));
            return mine;
          }),
        )
      ).flat();
      const seconds = (performance.now() - started) / 1000;
      const generated = timings.reduce((n, t) => n + t.tokens, 0);
      rows.push({
        streams: clients,
        requests: timings.length,
        'tokens/s': Number((generated / seconds).toFixed(1)),
        'requests/s': Number((timings.length / seconds).toFixed(2)),
        'latency p50 ms': Math.round(
          percentile(
            timings.map((t) => t.total),
            0.5,
          ),
        ),
        'latency p95 ms': Math.round(
          percentile(
            timings.map((t) => t.total),
            0.95,
          ),
        ),
        'ttft p50 ms': Math.round(
          percentile(
            timings.map((t) => t.ttft),
            0.5,
          ),
        ),
        'ttft p95 ms': Math.round(
          percentile(
            timings.map((t) => t.ttft),
            0.95,
          ),
        ),
        'tokens/decode step': Number(
          (generated / Math.max(1, server.engine.stats().decodeSteps - stepsBefore)).toFixed(2),
        ),
      });
    }
    console.log(
      `server benchmark — ${model.label}, ${engine.description}, ${tokens} tokens per request, ${perClient} requests per stream, node ${process.version}`,
    );
    console.table(rows);
    const one = rows.find((r) => r.streams === 1);
    const eight = rows.find((r) => r.streams === 8);
    if (one && eight)
      console.log(
        `aggregate decode throughput at 8 streams = ${(eight['tokens/s'] / one['tokens/s']).toFixed(2)}× the single-stream rate`,
      );
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
