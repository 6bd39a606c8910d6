/**
 * Where a quantized checkpoint's matrices live while the model runs: mapped from the file (`map`: no copy, pages
 * shared with other processes and the page cache, instant start) or read once into memory of the process's own on
 * 2 MB pages (`copy`: decode streams every matrix each token, and there the page cache's 4 KB pages cost a TLB
 * miss every 4 KB and can be evicted under another process's memory pressure). Tensors read a row at a time (the
 * embedding table) and small ones stay mapped either way.
 */
import { BackendUnavailableError } from '../errors.js';
import type { FileMapper } from '../../checkpoint/quantized.js';
import { readFileRange } from '../../checkpoint/read-fully.js';
import type { NativeAddon } from './addon.js';

export type WeightMemory = 'map' | 'copy';
export const WEIGHT_MEMORIES: readonly WeightMemory[] = ['map', 'copy'];

/**
 * The default: `copy` (decode measured 25% faster on a 2-core Zen 5: 8-layer q4 21.2 vs 16.9 tok/s), unless
 * PIXTRAL_WEIGHTS=map asks for the mapping (several processes serving one file, or a start without reading it).
 */
export function defaultWeightMemory(env: NodeJS.ProcessEnv = process.env): WeightMemory {
  const value = env.PIXTRAL_WEIGHTS;
  if (value === undefined || value === '') return 'copy';
  if (!(WEIGHT_MEMORIES as readonly string[]).includes(value))
    throw new BackendUnavailableError(
      `PIXTRAL_WEIGHTS must be ${WEIGHT_MEMORIES.join(' or ')}, got "${value}"`,
    );
  return value as WeightMemory;
}

const HUGE_PAGE = 2 << 20;

/**
 * Zeroed memory on 2 MB pages where it is at least one (the addon's own mapping, unmapped when collected), else
 * ordinary memory: for what the kernels stream every token — matrices, and the KV cache's pages.
 */
export function streamedMemory(addon: NativeAddon, bytes: number): Uint8Array {
  return bytes >= HUGE_PAGE ? addon.allocateWeights(bytes) : new Uint8Array(bytes);
}

export function weightLoader(addon: NativeAddon, memory: WeightMemory): FileMapper {
  const map = (path: string, offset: number, length: number) => addon.mapFile(path, offset, length);
  if (memory === 'map') return map;
  return (path, offset, length, streamed) => {
    // What a step reads only in part (the embedding table) stays mapped: copying it would cost its whole size.
    if (!streamed) return map(path, offset, length);
    // Huge pages for the big matrices; norms and other small tensors in ordinary memory.
    const out = streamedMemory(addon, length);
    if (readFileRange(path, out, offset) < length)
      throw new Error(`${path}: ends before byte ${offset + length}`);
    return out;
  };
}
