/**
 * The --backend / --quant / --threads / --kernels / --kv-cache / --context / --no-speculation options shared by commands that
 * run the model.
 */
import { KV_FORMATS, type KvFormat } from '../backend/kv-format.js';
import type { EngineOptions } from '../engine/engine.js';
import type { Quantization } from '../backend/native/native-weight.js';
import { isKernelChoice, KERNEL_CHOICES, type KernelChoice } from '../backend/native/kernel-choice.js';
import { BACKEND_CHOICES, type BackendChoice, type BackendSpec, QUANTIZATIONS } from '../backend/select.js';
import { UsageError } from './errors.js';
import { numberOption } from './options.js';

export const BACKEND_OPTIONS = {
  backend: { type: 'string' },
  quant: { type: 'string' },
  threads: { type: 'string' },
  kernels: { type: 'string' },
  'kv-cache': { type: 'string' },
  context: { type: 'string' },
  'no-speculation': { type: 'boolean' },
} as const;

type EngineOptionValues = {
  backend?: string;
  quant?: string;
  threads?: string;
  kernels?: string;
  'kv-cache'?: string;
  context?: string;
  'no-speculation'?: boolean;
};

/** The engine options of a command line: one object, handed unchanged to wherever the model runs. */
export function engineOptions(
  values: EngineOptionValues,
  scheduler?: EngineOptions['scheduler'],
): EngineOptions {
  const kvCache = kvCacheOption(values['kv-cache']);
  const schedulerOptions = values['no-speculation'] ? { ...scheduler, speculation: false } : scheduler;
  return {
    backend: backendSpec(values),
    maxContext: numberOption(values.context, 'context', 131072, 2, 131072),
    ...(kvCache && { kvCache }),
    ...(schedulerOptions && { scheduler: schedulerOptions }),
  };
}

export function kvCacheOption(value: string | undefined): KvFormat | undefined {
  if (value === undefined) return undefined;
  if (!KV_FORMATS.includes(value as KvFormat))
    throw new UsageError(`--kv-cache must be ${KV_FORMATS.join(', ')}, got "${value}"`);
  return value as KvFormat;
}

export function backendSpec(values: {
  backend?: string;
  quant?: string;
  threads?: string;
  kernels?: string;
}): BackendSpec {
  const backend = (values.backend ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(backend))
    throw new UsageError(`--backend must be ${BACKEND_CHOICES.join(', ')}, got "${values.backend}"`);
  const quant = (values.quant ?? 'none') as Quantization;
  if (!QUANTIZATIONS.includes(quant))
    throw new UsageError(`--quant must be ${QUANTIZATIONS.join(', ')}, got "${values.quant}"`);
  return {
    backend,
    quant,
    ...(values.threads !== undefined && { threads: numberOption(values.threads, 'threads', 1, 1, 256) }),
    ...(values.kernels !== undefined && { kernels: kernelsOption(values.kernels) }),
  };
}

export function kernelsOption(value: string): KernelChoice {
  if (!isKernelChoice(value))
    throw new UsageError(`--kernels must be ${KERNEL_CHOICES.join(', ')}, got "${value}"`);
  return value;
}
