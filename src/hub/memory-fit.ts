/**
 * Whether a model's weights fit the machine at their own precision: its bytes plus 2 GiB (activations, KV
 * cache of a short context, the process itself) against the memory available now. The one rule that decides
 * when a first run quantizes a copy; `PIXTRAL_AVAILABLE_MEMORY` (bytes) lets tests and users force it.
 */
import { freemem } from 'node:os';
import type { Environment } from './hub-settings.js';

export const HEADROOM_BYTES = 2 * 1024 ** 3;
/** The precision a model that does not fit is quantized to, unless `--quant` says otherwise. */
export const DEFAULT_FIT_QUANT = 'q4';

/** Free memory, or the container's limit when that is lower. */
export function availableMemory(env: Environment = process.env): number {
  if (env.PIXTRAL_AVAILABLE_MEMORY) return Number(env.PIXTRAL_AVAILABLE_MEMORY);
  const limit = process.constrainedMemory?.() ?? 0;
  return limit > 0 ? Math.min(freemem(), limit) : freemem();
}

export function fitsInMemory(weightBytes: number, available: number): boolean {
  return weightBytes + HEADROOM_BYTES <= available;
}
