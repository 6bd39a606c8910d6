/**
 * What a benchmark must say about the machine it ran on: the CPU (model, family, the vector extensions that decide
 * which kernels run), the load average around the run, and the streaming read bandwidth that decode speed is
 * held to.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import type { BandwidthProbe, NativeAddon } from '../../backend/native/addon.js';

/** The instruction-set extensions that matter to the kernels, in the order they are printed. */
const FLAGS = [
  'avx2',
  'fma',
  'f16c',
  'avx_vnni',
  'avx512f',
  'avx512bw',
  'avx512vl',
  'avx512_vnni',
  'avx512_bf16',
  'amx_tile',
  'amx_int8',
  'amx_bf16',
  'asimd',
  'asimddp',
  'i8mm',
  'bf16',
  'sve',
] as const;

export interface CpuDescription {
  readonly model: string;
  readonly cores: number;
  readonly flags: readonly string[];
}

export function describeCpu(): CpuDescription {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
  const family = field('cpu family');
  const modelNumber = field('model');
  const model = field('model name') ?? cpus()[0]?.model ?? 'unknown CPU';
  const have = new Set((field('flags') ?? field('Features') ?? '').split(/\s+/));
  return {
    model: family && modelNumber ? `${model} (family ${family}, model ${modelNumber})` : model,
    cores: cpus().length,
    flags: FLAGS.filter((f) => have.has(f)),
  };
}

/** The 1-minute load average, as a short string. */
export function loadAverage(): string {
  return loadavg()[0]!.toFixed(2);
}

/** The fixed probe: the pool's threads stream a 2 GB buffer six times; best and median passes. */
export function probeBandwidth(addon: NativeAddon): BandwidthProbe {
  return addon.probeBandwidth(2e9, 6);
}
