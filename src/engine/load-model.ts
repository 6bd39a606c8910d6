/**
 * Loading a model for running: its source (folder, quantized folder or builtin) and every weight in the chosen
 * backend. The engine (in this thread or in the engine worker) and the developer tools (parity, quality,
 * benchmarks) load through here, so an option means the same everywhere.
 */
import type { KvFormat } from '../backend/kv-format.js';
import { type BackendSpec, selectBackend } from '../backend/select.js';
import type { ImageSettings } from '../checkpoint/index.js';
import { PixtralModel } from '../model/pixtral.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { openModelSource } from './model-source.js';
import type { SchedulerOptions } from './scheduler.js';

/**
 * Everything that decides how a model runs. Plain data: the same object crosses to the engine worker
 * unchanged (tests assert each field arrives).
 */
export interface EngineOptions {
  readonly backend?: BackendSpec;
  /** Longest sequence (prompt + answer) to allow, at most the model's own context (131072 for Pixtral). */
  readonly maxContext?: number;
  /** KV-cache storage: f32 (default), f16 or q8 (a quarter of the memory; 131072 tokens fit beside q4 weights). */
  readonly kvCache?: KvFormat;
  readonly scheduler?: SchedulerOptions;
}

/** Callbacks for a load in this thread (they cannot cross to a worker). */
export interface LoadHooks {
  /** Called as tensors load: (done, total). */
  readonly onProgress?: (done: number, total: number) => void;
  /** One-line notices (e.g. "native kernels unavailable: using the reference backend"). */
  readonly onWarning?: (line: string) => void;
}

export interface LoadedModel {
  readonly id: string;
  readonly model: PixtralModel;
  readonly tokenizer: Tokenizer;
  /** Image settings when the model has a vision encoder, else null. */
  readonly image: ImageSettings | null;
}

export function loadModel(location: string, options: EngineOptions = {}, hooks: LoadHooks = {}): LoadedModel {
  const backend = selectBackend(options.backend ?? {}, hooks.onWarning);
  const source = openModelSource(location);
  try {
    const model = PixtralModel.fromCheckpoint(source.weights, backend, {
      ...(options.maxContext !== undefined && { maxContext: options.maxContext }),
      ...(options.kvCache !== undefined && { kvFormat: options.kvCache }),
      ...(hooks.onProgress && { onProgress: hooks.onProgress }),
    });
    const image = model.config.vision ? source.image : null;
    return { id: source.id, model, tokenizer: source.tokenizer, image };
  } finally {
    source.close(); // weights now live in the backend
  }
}

/** The tokenizer and image settings of a model, without its weights (the server's main thread). */
export function loadPromptSide(location: string): Omit<LoadedModel, 'model'> {
  const source = openModelSource(location);
  try {
    const image = source.weights.config.vision ? source.image : null;
    return {
      id: source.id,
      tokenizer: source.tokenizer,
      image,
    };
  } finally {
    source.close();
  }
}
