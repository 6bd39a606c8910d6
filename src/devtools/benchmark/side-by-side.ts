/**
 * `pixtral bench --synthetic 12b --llamacpp DIR`: our engine and llama.cpp on the same random weights, measured
 * in turns (llama.cpp, ours, llama.cpp, ours, … for every round), each run in a fresh process so neither holds
 * memory or caches while the other runs. One table: the median and range of each side, the ratio of the medians
 * (> 1 means we are faster), for decode the weight bytes each side reads per token and the fraction of the
 * machine's streaming bandwidth (the probe) that makes, and the CPU, kernel level and load average it ran under.
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { BandwidthProbe } from '../../backend/native/addon.js';
import { loadNativeAddon } from '../../backend/native/addon.js';
import { BackendUnavailableError } from '../../backend/errors.js';
import { activeKernels, applyKernels, type KernelChoice } from '../../backend/native/kernel-choice.js';
import { type CpuDescription, describeCpu, loadAverage, probeBandwidth } from './machine.js';
import {
  findLlamaCpp,
  llamaQuantize,
  type LlamaRun,
  runLlamaBench,
  runLlamaVision,
  type TextTestShape,
} from './llamacpp-runner.js';
import {
  benchConfig,
  type BenchRow,
  quantizedDecodeBytes,
  syntheticModelDir,
  type SyntheticBenchOptions,
} from './synthetic-12b.js';
import { ggufDecodeBytes, type LlamaQuant, syntheticGguf } from './synthetic-gguf.js';

/** The tests both engines can run on the same shapes, with llama-bench's parameters for the text ones. */
export const TEXT_SHAPES = {
  pp512: { prompt: 512, generate: 0, depth: 0 },
  pp4096: { prompt: 4096, generate: 0, depth: 0 },
  'tg32@0': { prompt: 0, generate: 32, depth: 0 },
  'tg32@4096': { prompt: 0, generate: 32, depth: 4096 },
} as const satisfies Record<string, TextTestShape>;
export const VISION_SIDES = { 'vision 512²': 512, 'vision 1024²': 1024 } as const;
export const COMPARABLE_TESTS = [
  ...Object.keys(TEXT_SHAPES),
  ...Object.keys(VISION_SIDES),
] as ComparableTest[];
export type ComparableTest = keyof typeof TEXT_SHAPES | keyof typeof VISION_SIDES;
export const DEFAULT_COMPARISON: readonly ComparableTest[] = ['pp512', 'tg32@0'];

const isVision = (test: ComparableTest): test is keyof typeof VISION_SIDES => test in VISION_SIDES;

/** What both sides run: our q4/q8 copy next to llama.cpp's Q4_0/Q8_0 of the same weights, or one Q4_K_M file. */
export type ComparedQuant = 'q4' | 'q8' | 'q4_k_m';

export interface SideBySideOptions extends Omit<SyntheticBenchOptions, 'tests' | 'threads' | 'quant'> {
  readonly quant: ComparedQuant;
  readonly llamaDir: string;
  readonly rounds: number;
  readonly threads: number;
  readonly tests: readonly ComparableTest[];
  /** Runs one of our tests in a fresh process and returns its rows (default: this CLI's own bench). */
  readonly runOurs?: (test: ComparableTest, options: OurRunOptions) => Promise<readonly BenchRow[]>;
}

export interface OurRunOptions {
  readonly quant: SyntheticBenchOptions['quant'];
  /** The GGUF file our side measures too (Q4_K_M: both engines run the very same file). */
  readonly gguf?: string;
  readonly layers: number;
  readonly visionLayers: number;
  readonly threads: number;
  /** Kernel level our runs are forced to (`--kernels`); else the best this CPU has. */
  readonly kernels?: KernelChoice;
}

export interface ComparedTest {
  readonly test: ComparableTest;
  readonly unit: 'tok/s' | 's';
  readonly ours: number[];
  readonly llama: number[];
  readonly oursRssGB: number[];
  readonly llamaRssGB: number[];
  /** Weight bytes one decode step reads, each side (decode tests only). */
  readonly decodeBytes: { readonly ours: number; readonly llama: number } | null;
}

export interface SideBySideReport {
  readonly cpu: CpuDescription;
  readonly ourKernels: string;
  readonly llamaAbout: string;
  readonly threads: number;
  readonly rounds: number;
  readonly shape: string;
  readonly probes: BandwidthProbe[];
  readonly loadBefore: string;
  readonly loadAfter: string;
  readonly tests: ComparedTest[];
}

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/** Our side in a fresh process: this checkout's CLI, `bench --synthetic 12b --json` for one test. */
export function runOursInChild(test: ComparableTest, options: OurRunOptions): Promise<readonly BenchRow[]> {
  const args = [join(projectRoot, 'bin', 'pixtral.js'), 'bench', '--synthetic', '12b', '--json'];
  args.push('--quant', options.quant, '--layers', String(options.layers));
  args.push('--vision-layers', String(options.visionLayers), '--threads', String(options.threads));
  args.push('--tests', test);
  if (options.kernels) args.push('--kernels', options.kernels);
  if (options.gguf) args.push('--gguf', options.gguf);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0)
        reject(new Error(`our ${test} run exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
      else resolve(JSON.parse(stdout) as BenchRow[]);
    });
  });
}

const median = (xs: readonly number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A random-content RGB picture of `side`² pixels, written once beside the GGUF files. */
async function testImage(dir: string, side: number): Promise<string> {
  const path = join(dir, `random-${side}.png`);
  const pixels = Buffer.alloc(side * side * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.imul(i, 2654435761) >>> 13) & 255;
  mkdirSync(dir, { recursive: true });
  await sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toFile(path);
  return path;
}

export async function runSideBySide(options: SideBySideOptions): Promise<SideBySideReport> {
  const addon = loadNativeAddon();
  if (!addon) throw new BackendUnavailableError('the side-by-side benchmark needs the native kernels');
  addon.setThreads(options.threads);
  if (options.kernels) applyKernels(addon, options.kernels);
  const { log } = options;
  const build = findLlamaCpp(options.llamaDir);
  const llamaType: LlamaQuant = options.quant === 'q8' ? 'q8_0' : 'q4_0';
  const kQuant = options.quant === 'q4_k_m';
  if (kQuant && options.tests.some(isVision))
    throw new BackendUnavailableError('the Q4_K_M comparison is of the text model: drop the vision tests');
  const runOurs = options.runOurs ?? runOursInChild;
  const progress = (what: string) => {
    let shown = -1;
    return (done: number, total: number) => {
      const pct = Math.floor((100 * done) / total);
      if (pct % 10 === 0 && pct !== shown) log(`writing ${what}: ${(shown = pct)}%`);
    };
  };

  // Text tests run the configured depth without a vision tower; vision tests a one-layer text model with it.
  const ourQuant = options.quant === 'q8' ? 'q8' : 'q4';
  let textRun: OurRunOptions = { ...options, quant: ourQuant, visionLayers: 1 };
  const visionRun: OurRunOptions = { ...options, quant: ourQuant, layers: 1 };
  const shapeOf = (run: OurRunOptions) => benchConfig({ ...options, ...run });
  const textConfig = { ...shapeOf(textRun), vision: null };
  const needText = options.tests.some((t) => !isVision(t));
  const needVision = options.tests.some(isVision);
  let textFiles = needText ? syntheticGguf(textConfig, llamaType, progress('the text GGUF')) : null;
  if (textFiles && kQuant) {
    // llama.cpp's own Q4_K_M of the same weights (requantized from the Q4_0 copy: speed does not depend on the
    // values), measured by both engines.
    const file = textFiles.text.replace(/Q4_0\.gguf$/, 'Q4_K_M.gguf');
    log('writing the Q4_K_M GGUF with llama-quantize');
    llamaQuantize(build, textFiles.text, file, 'Q4_K_M');
    textFiles = { text: file, mmproj: null };
    textRun = { ...textRun, gguf: file };
  }
  const visionFiles = needVision
    ? syntheticGguf(shapeOf(visionRun), llamaType, progress('the vision GGUFs'))
    : null;
  const images: Partial<Record<ComparableTest, string>> = {};
  for (const test of options.tests)
    if (isVision(test)) images[test] = await testImage(dirname(visionFiles!.text), VISION_SIDES[test]);

  const tests: ComparedTest[] = options.tests.map((test) => ({
    test,
    unit: isVision(test) ? 's' : 'tok/s',
    ours: [],
    llama: [],
    oursRssGB: [],
    llamaRssGB: [],
    decodeBytes: null,
  }));
  const probes: BandwidthProbe[] = [];
  const loadBefore = loadAverage();
  let llamaAbout = 'llama-mtmd-cli';
  for (let round = 1; round <= options.rounds; round++) {
    const probe = probeBandwidth(addon);
    probes.push(probe);
    log(`round ${round}/${options.rounds}: probe ${probe.bestGBps.toFixed(1)} GB/s, load ${loadAverage()}`);
    for (const entry of tests) {
      const { test } = entry;
      let theirs: LlamaRun;
      if (isVision(test))
        theirs = runLlamaVision(
          build,
          { ...visionFiles!, mmproj: visionFiles!.mmproj!, image: images[test]! },
          options.threads,
        );
      else {
        theirs = runLlamaBench(build, textFiles!.text, TEXT_SHAPES[test], options.threads);
        llamaAbout = theirs.about;
      }
      entry.llama.push(theirs.value);
      if (theirs.peakRssGB !== null) entry.llamaRssGB.push(theirs.peakRssGB);
      const run = isVision(test) ? visionRun : textRun;
      const rows = await runOurs(test, {
        ...run,
        threads: options.threads,
        ...(options.kernels && { kernels: options.kernels }),
      });
      const ours = rows.find((r) => r.test === test);
      if (!ours) throw new Error(`our ${test} run reported no ${test} row`);
      entry.ours.push(ours.value);
      const rss = rows.find((r) => r.test === 'peak RSS');
      if (rss) entry.oursRssGB.push(rss.value);
      log(
        `  ${test}: llama.cpp ${theirs.value.toFixed(2)} ${entry.unit}, ours ${ours.value.toFixed(2)} ${entry.unit}`,
      );
    }
  }
  const decodeBytes = textFiles
    ? {
        ours: textRun.gguf
          ? ggufDecodeBytes(textRun.gguf)
          : quantizedDecodeBytes(syntheticModelDir({ ...options, ...textRun })),
        llama: ggufDecodeBytes(textFiles.text),
      }
    : null;
  return {
    cpu: describeCpu(),
    ourKernels: `${activeKernels(addon)} (weight prefetch ${addon.features().prefetch})`,
    llamaAbout,
    threads: options.threads,
    rounds: options.rounds,
    shape: kQuant
      ? `one Q4_K_M file (llama-quantize), ${textConfig.text.nLayers} text layers`
      : `${options.quant} (llama.cpp ${llamaType.toUpperCase()}), ${textConfig.text.nLayers} text layers`,
    probes,
    loadBefore,
    loadAfter: loadAverage(),
    tests: tests.map((t) => (t.test.startsWith('tg') ? { ...t, decodeBytes } : t)),
  };
}

const range = (xs: readonly number[], digits: number) =>
  xs.length ? `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}` : '—';

export function formatSideBySide(report: SideBySideReport): string[] {
  const probe = median(report.probes.map((p) => p.bestGBps));
  const vector = report.probes[0]?.vectorBytes ?? 0;
  const lines = [
    `CPU: ${report.cpu.model}, ${report.cpu.cores} cores; ${report.cpu.flags.join(' ')}`,
    `Threads: ${report.threads} each side. Pixtral TS kernels: ${report.ourKernels}. llama.cpp: ${report.llamaAbout}.`,
    `Model: synthetic Pixtral-12B shapes, ${report.shape}; ${report.rounds} interleaved rounds (llama.cpp, then ours).`,
    `Load average: ${report.loadBefore} before, ${report.loadAfter} after.`,
    `Read bandwidth probe (${report.probes[0]?.threads ?? '?'} threads, 2 GB, ${vector}-byte loads, best of 6 passes): ` +
      `${probe.toFixed(1)} GB/s median of rounds (${range(
        report.probes.map((p) => p.bestGBps),
        1,
      )}).`,
    '',
    '| test | Pixtral TS median (range) | llama.cpp median (range) | ratio (>1 = we win) | decode: weights read / token, GB/s, share of probe (ours · llama.cpp) | peak RSS GB (ours · llama.cpp) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const t of report.tests) {
    const digits = 2;
    const ours = median(t.ours);
    const theirs = median(t.llama);
    const ratio = t.unit === 's' ? theirs / ours : ours / theirs;
    let decode = '—';
    if (t.decodeBytes) {
      const side = (bytes: number, rate: number) => {
        const gbps = (bytes * rate) / 1e9;
        return `${(bytes / 1e9).toFixed(2)} GB, ${gbps.toFixed(1)} GB/s, ${Math.round((100 * gbps) / probe)}%`;
      };
      decode = `${side(t.decodeBytes.ours, ours)} · ${side(t.decodeBytes.llama, theirs)}`;
    }
    const rss = (xs: readonly number[]) => (xs.length ? median(xs).toFixed(2) : 'n/a');
    lines.push(
      `| ${t.test} | ${ours.toFixed(digits)} ${t.unit} (${range(t.ours, digits)}) | ${theirs.toFixed(digits)} ${t.unit} (${range(t.llama, digits)}) | ${ratio.toFixed(2)}× | ${decode} | ${rss(t.oursRssGB)} · ${rss(t.llamaRssGB)} |`,
    );
  }
  return lines;
}
