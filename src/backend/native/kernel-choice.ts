/**
 * Forcing a kernel level: `--kernels amx|avx512|avx2|portable` or the PIXTRAL_KERNELS environment variable, so
 * any machine can run (and measure) the paths of CPUs it is not — an AMX Xeon the AVX-512 and AVX2 ones, any x86
 * the portable one. A level the CPU cannot run is an error, never a silent fallback.
 */
import { BackendUnavailableError } from '../errors.js';
import type { KernelLevel, NativeAddon } from './addon.js';

export const KERNEL_CHOICES = ['amx', 'avx512', 'avx2', 'portable'] as const satisfies readonly KernelLevel[];
export type KernelChoice = KernelLevel;

export const KERNELS_ENV = 'PIXTRAL_KERNELS';

export function isKernelChoice(value: string): value is KernelChoice {
  return (KERNEL_CHOICES as readonly string[]).includes(value);
}

/** The level a user named (flag first, then the environment), or undefined for the best this CPU has. */
export function requestedKernels(flag: string | undefined, env = process.env): KernelChoice | undefined {
  const value = flag ?? env[KERNELS_ENV];
  if (value === undefined || value === '') return undefined;
  if (!isKernelChoice(value))
    throw new BackendUnavailableError(
      `${flag !== undefined ? '--kernels' : KERNELS_ENV} must be ${KERNEL_CHOICES.join(', ')}, got "${value}"`,
    );
  return value;
}

/** Switches every native op to `choice`; throws when this CPU cannot run it. */
export function applyKernels(addon: NativeAddon, choice: KernelChoice): void {
  if (!addon.setLevel(choice))
    throw new BackendUnavailableError(
      `this CPU cannot run the ${choice} kernels (it can: ${addon.features().levels.join(', ')})`,
    );
}

/** What runs now, in the words `--kernels` uses. */
export function activeKernels(addon: NativeAddon): KernelChoice {
  return addon.features().active;
}
