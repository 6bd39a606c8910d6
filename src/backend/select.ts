/**
 * Choosing a backend from user options: `auto` takes the native kernels when they loaded (saying once when
 * they did not), `native` insists on them, `reference` is the plain-TypeScript yardstick. Quantized weights
 * need the native kernels.
 */
import { loadNativeAddon, nativeUnavailableReason, warnNativeMissing } from './native/addon.js';
import { applyKernels, type KernelChoice, requestedKernels } from './native/kernel-choice.js';
import { NativeBackend } from './native/native-backend.js';
import type { Quantization } from './native/native-weight.js';
import { ReferenceBackend } from './reference/reference-backend.js';
import type { Backend } from './types.js';
import { BackendUnavailableError } from './errors.js';

export type BackendChoice = 'auto' | 'native' | 'reference';

export interface BackendSpec {
  readonly backend?: BackendChoice;
  readonly quant?: Quantization;
  readonly threads?: number;
  /** Forced kernel level (`--kernels`); PIXTRAL_KERNELS when unset; else the best this CPU has. */
  readonly kernels?: KernelChoice;
}

export { BackendUnavailableError };

export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'native', 'reference'];
export const QUANTIZATIONS: readonly Quantization[] = ['none', 'q8', 'q4'];

export function selectBackend(spec: BackendSpec = {}, warn?: (line: string) => void): Backend {
  const choice = spec.backend ?? 'auto';
  const quant = spec.quant ?? 'none';
  if (choice === 'reference') {
    if (quant !== 'none')
      throw new BackendUnavailableError('quantized weights (--quant) need the native backend');
    return new ReferenceBackend();
  }
  const addon = loadNativeAddon();
  if (!addon) {
    if (choice === 'native' || quant !== 'none')
      throw new BackendUnavailableError(`the native kernels are not available: ${nativeUnavailableReason()}`);
    warnNativeMissing(warn);
    return new ReferenceBackend();
  }
  if (spec.threads) addon.setThreads(spec.threads);
  const kernels = spec.kernels ?? requestedKernels(undefined);
  if (kernels) applyKernels(addon, kernels);
  return new NativeBackend(addon, { quant });
}
