/**
 * `pixtral bench --synthetic 12b`: Pixtral-12B's real architecture with random weights, written once to a
 * temporary quantized file (no 25 GB download) and memory-mapped like a real quantized checkpoint; then
 * prompt processing, decode at two depths, vision encoding, time to first token (a first and a second question
 * about one 1024² picture, the second served by the prefix cache), the cost of verifying drafted tokens, and peak
 * RSS — next to llama.cpp's figures for the same shapes.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KvFormat } from '../../backend/kv-format.js';
import { loadNativeAddon } from '../../backend/native/addon.js';
import { applyKernels, type KernelChoice, requestedKernels } from '../../backend/native/kernel-choice.js';
import { NativeBackend } from '../../backend/native/native-backend.js';
import { defaultWeightMemory, type WeightMemory, weightLoader } from '../../backend/native/weight-memory.js';
import { nativeTensorQuantizer } from '../../backend/native/tensor-quantizer.js';
import { quantizeCheckpoint } from '../../checkpoint/quantize-checkpoint.js';
import { GgufCheckpoint } from '../../checkpoint/gguf/pixtral-gguf.js';
import { BackendUnavailableError } from '../../backend/errors.js';
import { pixtral12bConfig, SyntheticWeights } from '../../checkpoint/index.js';
import { type Quant, QUANTIZED_FILE, QuantizedCheckpoint } from '../../checkpoint/quantized.js';
import { prefillPrompt, promptLogits, stepToken, stepTokens } from '../../engine/probes.js';
import { Scheduler } from '../../engine/scheduler.js';
import type { GenerationEvent } from '../../generate/sequence.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import { argmax } from '../../generate/sampler.js';
import { PixtralModel } from '../../model/pixtral.js';
import type { ImageInput } from '../../model/vision-encoder.js';
import { bundledTekkenPath } from '../../tokenizer/tekken-file.js';
import { LLAMACPP_ANCHORS } from './anchors.js';
import type { PixtralConfig } from '../../checkpoint/config.js';
import { ggufName } from '../../checkpoint/gguf/pixtral-names.js';
import { SafetensorsFile } from '../../checkpoint/safetensors.js';
import { readFully } from '../../checkpoint/read-fully.js';
import { shapeKey } from './synthetic-gguf.js';

export const ALL_TESTS = [
  'pp512',
  'pp4096',
  'tg32@0',
  'tg32@4096',
  'tg32 ×8',
  'vision 512²',
  'vision 1024²',
  'ttft 1024²',
  'ttft 1024² again',
  'verify',
] as const;
export type TestName = (typeof ALL_TESTS)[number];

export interface SyntheticBenchOptions {
  readonly quant: Quant;
  readonly layers: number;
  readonly visionLayers: number;
  readonly threads?: number;
  /** Forced kernel level (else PIXTRAL_KERNELS, else the best this CPU has). */
  readonly kernels?: KernelChoice;
  /** KV-cache storage; f16 as llama.cpp's default. */
  readonly kvCache?: KvFormat;
  readonly tests: readonly TestName[];
  readonly log: (line: string) => void;
  /** Another shape than Pixtral-12B's (tests of the harness run a tiny one); layers options are then ignored. */
  readonly config?: PixtralConfig;
  /** Weights copied into the process's own memory on huge pages (default) or mapped from the file. */
  readonly weightMemory?: WeightMemory;
  /** A GGUF text model to measure (its blocks as stored, e.g. Q4_K_M) instead of our synthetic quantized copy. */
  readonly gguf?: string;
}

/** The model shape a run measures. */
export function benchConfig(options: Pick<SyntheticBenchOptions, 'config' | 'layers' | 'visionLayers'>) {
  return options.config ?? pixtral12bConfig(options.layers, options.visionLayers);
}

export interface BenchRow {
  readonly test: string;
  readonly value: number;
  readonly unit: 'tok/s' | 's' | 'GB' | '×';
  readonly detail: string;
}

/** Where the quantized synthetic model of these options lives (written by the first run that needs it). */
export function syntheticModelDir(
  options: Pick<SyntheticBenchOptions, 'config' | 'layers' | 'visionLayers' | 'quant'>,
) {
  const name = options.config
    ? `pixtral-synthetic-${shapeKey(options.config)}-${options.quant}`
    : `pixtral-synthetic-12b-${options.quant}-${options.layers}L-${options.visionLayers}V`;
  return join(tmpdir(), name);
}

/** Reads one tensor through the file (not its mapping), a piece at a time: its pages land in the page cache
 *  without counting towards this process's resident memory (the peak RSS the benchmark reports). */
function readIntoPageCache(path: string, tensor: string): void {
  const file = SafetensorsFile.open(path);
  try {
    const { offset, byteLength } = file.info(tensor);
    const fd = openSync(path, 'r');
    try {
      const piece = new Uint8Array(16 << 20);
      for (let at = 0; at < byteLength; at += piece.length)
        readFully(fd, piece.subarray(0, Math.min(piece.length, byteLength - at)), offset + at);
    } finally {
      closeSync(fd);
    }
  } finally {
    file.close();
  }
}

/** Bytes of weights one decode step reads from our quantized file: every decoder matrix and the output head. */
export function quantizedDecodeBytes(dir: string): number {
  const file = SafetensorsFile.open(join(dir, QUANTIZED_FILE));
  try {
    let bytes = 0;
    for (const [name, info] of file.tensors)
      if (ggufName(name)?.part === 'text' && name !== 'tok_embeddings.weight') bytes += info.byteLength;
    return bytes;
  } finally {
    file.close();
  }
}

/** The quantized synthetic model's folder, the model written there on first use and reused afterwards. */
export function writeSyntheticModel(
  options: Pick<SyntheticBenchOptions, 'config' | 'layers' | 'visionLayers' | 'quant'>,
  onProgress: (done: number, total: number) => void,
): string {
  const dir = syntheticModelDir(options);
  if (existsSync(join(dir, QUANTIZED_FILE))) return dir;
  const addon = loadNativeAddon()!;
  mkdirSync(dir, { recursive: true });
  copyFileSync(bundledTekkenPath(), join(dir, 'tekken.json'));
  quantizeCheckpoint(nativeTensorQuantizer(addon, options.quant), {
    source: new SyntheticWeights(benchConfig(options)),
    tokenizerFile: join(dir, 'tekken.json'),
    image: { patchSize: 16, maxImageSize: 1024 },
    outDir: dir,
    onProgress,
  });
  return dir;
}

const seconds = (from: number) => (performance.now() - from) / 1000;

function randomImage(side: number): ImageInput {
  const pixels = new Float32Array(3 * side * side);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 12.9898) * 1.5;
  return { pixels, rows: side / 16, cols: side / 16 };
}

function promptIds(count: number): number[] {
  return [1, ...Array.from({ length: count - 1 }, (_, i) => 1000 + ((i * 7919) % 120000))];
}

export async function runSyntheticBench(options: SyntheticBenchOptions): Promise<BenchRow[]> {
  const addon = loadNativeAddon();
  if (!addon) throw new BackendUnavailableError('the synthetic benchmark needs the native kernels');
  if (options.threads) addon.setThreads(options.threads);
  const kernels = options.kernels ?? requestedKernels(undefined);
  if (kernels) applyKernels(addon, kernels);
  const { log } = options;
  let lastShown = -1;
  const visionTests: TestName[] = ['vision 512²', 'vision 1024²', 'ttft 1024²', 'ttft 1024² again'];
  if (options.gguf && visionTests.some((t) => options.tests.includes(t)))
    throw new BackendUnavailableError(
      '--gguf measures a text model: vision and time-to-first-token tests need ours',
    );
  const dir = options.gguf
    ? ''
    : writeSyntheticModel(options, (done, total) => {
        const pct = Math.floor((100 * done) / total);
        if (pct % 10 === 0 && pct !== lastShown)
          log(`writing the synthetic ${options.quant} model: ${(lastShown = pct)}%`);
      });
  const weightMemory = options.weightMemory ?? defaultWeightMemory();
  const checkpoint = options.gguf
    ? GgufCheckpoint.open(options.gguf, weightLoader(addon, weightMemory))
    : QuantizedCheckpoint.open(dir, weightLoader(addon, weightMemory));
  const backendQuant = options.gguf ? 'none' : options.quant;
  const model = PixtralModel.fromCheckpoint(checkpoint, new NativeBackend(addon, { quant: backendQuant }), {
    maxContext: 8192,
    kvFormat: options.kvCache ?? 'f16',
  });
  checkpoint.close();
  const has = (t: TestName) => options.tests.includes(t);
  // Warm-up, as llama-bench does: one token through every decoder weight, so the mapped file is in the page cache
  // and the first test does not time disk reads…
  promptLogits(model, [1]);
  // …the token-embedding table too: decode looks up the row of each new token, and a row not yet in the page cache
  // is a disk read (~3 ms a row measured here, 6% of an 8-stream step) that llama-bench's generation test, which
  // feeds one token over and over, never pays…
  if (!options.gguf) readIntoPageCache(join(dir, QUANTIZED_FILE), 'tok_embeddings.weight');
  // …and, when a vision test follows, the vision encoder's, through a 32×32 image (4 patches). Text-only runs
  // leave it untouched so their peak RSS compares with llama.cpp's text-only model.
  if (model.vision && visionTests.some(has)) model.imageEmbeddings([randomImage(32)]);
  const rows: BenchRow[] = [];
  const record = (row: BenchRow) => {
    rows.push(row);
    log(`${row.test}: ${row.value.toFixed(row.unit === 's' ? 2 : 3)} ${row.unit} (${row.detail})`);
  };

  const prefill = (count: number) => {
    const started = performance.now();
    const { cache, logits } = prefillPrompt(model, promptIds(count), [], 33);
    return { cache, logits, s: seconds(started) };
  };
  const decode = (cache: ReturnType<PixtralModel['newCache']>, logits: Float32Array, steps: number) => {
    const started = performance.now();
    for (let i = 0; i < steps; i++) logits = stepToken(model, argmax(logits), cache);
    return seconds(started);
  };

  if (has('pp512')) {
    const { cache, s } = prefill(512);
    cache.release();
    record({ test: 'pp512', value: 512 / s, unit: 'tok/s', detail: `${s.toFixed(1)} s` });
  }
  if (has('tg32@0')) {
    const { cache, logits } = prefill(1);
    const s = decode(cache, logits, 32);
    cache.release();
    record({
      test: 'tg32@0',
      value: 32 / s,
      unit: 'tok/s',
      detail: `${((1000 * s) / 32).toFixed(0)} ms/token`,
    });
  }
  if (has('tg32 ×8')) {
    // Eight sequences decoding together, as the scheduler batches them: one step reads each weight once for all
    // eight, so the step is compute-bound and the aim is the prompt rate, not eight times one stream.
    const streams = 8;
    const started = Array.from({ length: streams }, (_, s) => prefill(1 + s));
    const caches = started.map((p) => p.cache);
    let ids = started.map((p) => argmax(p.logits));
    const steps = 32;
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) ids = stepTokens(model, ids, caches).map((logits) => argmax(logits));
    const s = seconds(t0);
    for (const cache of caches) cache.release();
    record({
      test: 'tg32 ×8',
      value: (streams * steps) / s,
      unit: 'tok/s',
      detail: `${streams} sequences together, ${((1000 * s) / steps).toFixed(0)} ms per step, aggregate`,
    });
  }
  if (has('pp4096') || has('tg32@4096')) {
    const { cache, logits, s } = prefill(4096);
    if (has('pp4096'))
      record({ test: 'pp4096', value: 4096 / s, unit: 'tok/s', detail: `${s.toFixed(1)} s` });
    if (has('tg32@4096')) {
      const d = decode(cache, logits, 32);
      record({
        test: 'tg32@4096',
        value: 32 / d,
        unit: 'tok/s',
        detail: `${((1000 * d) / 32).toFixed(0)} ms/token`,
      });
    }
    cache.release();
  }
  for (const side of [512, 1024] as const) {
    if (!has(`vision ${side}²`)) continue;
    const started = performance.now();
    model.imageEmbeddings([randomImage(side)]);
    const s = seconds(started);
    record({
      test: `vision ${side}²`,
      value: s,
      unit: 's',
      detail: `${(side / 16) ** 2} patches, encoder + adapter`,
    });
  }
  if (has('ttft 1024²') || has('ttft 1024² again')) {
    // Two questions about one picture of 64×64 patches (4096 [IMG] + 63 [IMG_BREAK] + [IMG_END]), through the
    // scheduler as a server runs them: the first pays the vision encoder and the prefill, the second starts from
    // the first one's cached prefix (same API key) and prefills only its own question.
    const scheduler = new Scheduler(model, loadTokenizer(checkpoint.tokenizerFile), { speculation: false });
    const image = randomImage(1024);
    const question = (salt: number) => {
      const ids = [1, 3];
      for (let r = 0; r < 64; r++) {
        for (let c = 0; c < 64; c++) ids.push(10);
        ids.push(r < 63 ? 12 : 13);
      }
      ids.push(...promptIds(12 + salt).slice(1 + salt), 4);
      return ids;
    };
    const firstToken = async (ids: number[]) => {
      const started = performance.now();
      const options = { maxTokens: 1, room: 8192, sampling: { temperature: 0, topP: 1 } };
      let done: Extract<GenerationEvent, { type: 'done' }> | undefined;
      for await (const event of scheduler.submitChoices({ ids, images: [image], scope: 'bench' }, [
        options,
      ])[0]!)
        if (event.type === 'done') done = event;
      return { s: seconds(started), ids, cached: done?.usage.cachedTokens ?? 0 };
    };
    const first = await firstToken(question(0));
    if (has('ttft 1024²'))
      record({ test: 'ttft 1024²', value: first.s, unit: 's', detail: `${first.ids.length} prompt tokens` });
    if (has('ttft 1024² again')) {
      const again = await firstToken(question(3));
      record({
        test: 'ttft 1024² again',
        value: again.s,
        unit: 's',
        detail: `another question, ${again.cached} of ${again.ids.length} prompt tokens cached`,
      });
    }
    await scheduler.close();
  }
  if (has('verify')) {
    // Prompt lookup's price: one forward pass over the fed token and K drafted ones, against one decode step.
    const { cache, logits } = prefill(64);
    let id = argmax(logits);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const timed = (run: () => void) => {
      const started = performance.now();
      run();
      return seconds(started);
    };
    const step = median(
      Array.from({ length: 7 }, () => timed(() => (id = argmax(stepToken(model, id, cache))))),
    );
    for (const k of [2, 4, 8]) {
      const at = cache.length;
      const verify = median(
        Array.from({ length: 5 }, () =>
          timed(() => {
            model.forwardAll(promptIds(k + 1), cache);
            cache.truncate(at);
          }),
        ),
      );
      record({
        test: `verify ${k}`,
        value: verify / step,
        unit: '×',
        detail: `${(1000 * verify).toFixed(0)} ms for 1 + ${k} tokens vs ${(1000 * step).toFixed(0)} ms per decode step`,
      });
    }
    cache.release();
  }
  const rss = process.resourceUsage().maxRSS / 1024 / 1024;
  record({
    test: 'peak RSS',
    value: rss * 1.073741824,
    unit: 'GB',
    detail: `whole process, weights ${options.gguf ? 'read from the GGUF' : weightMemory === 'map' ? 'memory-mapped' : 'in huge-page memory'}`,
  });
  return rows;
}

/** The results next to llama.cpp's: ratio > 1 means faster (or smaller) than llama.cpp. */
export function formatComparison(
  rows: readonly BenchRow[],
  quant: Quant,
  layers: number,
  visionLayers: number,
): string[] {
  const lines = [
    `| test | Pixtral TS (${quant}, ${layers} layers) | llama.cpp (Zen 4 anchor) | ratio |`,
    '| --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    // Anchors are for the whole model: compare only runs of the same depth.
    const full = row.test.startsWith('vision') ? visionLayers === 24 : layers === 40 && visionLayers === 24;
    // llama.cpp's RSS figure is for decoding; a run with long prompts or images also holds their activations.
    const comparableRss =
      row.test !== 'peak RSS' || rows.every((r) => r.test.startsWith('tg') || r.test === 'peak RSS');
    const anchor = full && comparableRss ? LLAMACPP_ANCHORS[row.test]?.[quant] : undefined;
    const ours = `${row.value.toFixed(2)} ${row.unit}`;
    if (!anchor) {
      lines.push(`| ${row.test} | ${ours} | — | — |`);
      continue;
    }
    const ratio = anchor.unit === 'tok/s' ? row.value / anchor.value : anchor.value / row.value;
    const note = anchor.note ? ` (${anchor.note})` : '';
    lines.push(`| ${row.test} | ${ours} | ${anchor.value} ${anchor.unit}${note} | ${ratio.toFixed(2)}× |`);
  }
  return lines;
}
