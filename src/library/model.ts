/**
 * `loadModel`: a model by the same names as `--model` (a path, the demo model, an alias or `org/name` from
 * the Hugging Face cache — resolved by the one resolver), loaded into an engine that runs it in this thread or
 * in an engine worker; and the {@link Model} an application talks to.
 */
import { existsSync } from 'node:fs';
import type { KvFormat } from '../backend/kv-format.js';
import type { Quantization } from '../backend/native/native-weight.js';
import { imageTokensForSize } from '../chat/image-tokens.js';
import { splitMmproj, withMmproj } from '../checkpoint/gguf/pixtral-gguf.js';
import { Engine, type EngineOptions } from '../engine/engine.js';
import { DEFAULT_MODEL } from '../engine/model-source.js';
import type { ImageFetcher } from '../engine/prepare.js';
import { ContextLengthError as EngineContextLengthError } from '../generate/sequence.js';
import { hubCacheDir } from '../hub/hub-settings.js';
import { resolveModel } from '../hub/resolve-model.js';
import type { ChatOptions } from './chat-request.js';
import { ChatStream } from './chat-stream.js';
import { InvalidRequestError, ModelNotFoundError, toLibraryError } from './errors.js';
import { imageFetcher, type ImageRules } from './images.js';
import { toCompletionRequest } from './chat-request.js';

export { DEFAULT_MODEL };

export interface LoadOptions extends ImageRules {
  /** 'auto' (default): the native kernels when they load, else the TypeScript reference backend, said once. */
  readonly backend?: 'auto' | 'native' | 'reference';
  /** Weights quantized at load (needs the native kernels): 'none' (default), 'q8' or 'q4'. */
  readonly quant?: Quantization;
  /** Threads of the native kernels (default: the machine's cores). */
  readonly threads?: number;
  /** KV-cache storage: 'f32' (default), 'f16' or 'q8'. */
  readonly kvCache?: KvFormat;
  /** Longest prompt + answer, at most the model's own context. */
  readonly maxContext?: number;
  /** The vision projector (`mmproj*.gguf`) of a GGUF text model kept elsewhere; one beside the model is found alone. */
  readonly mmproj?: string;
  /** The hub revision of an `org/name` model (default 'main'). */
  readonly revision?: string;
  /** Run forward passes in a worker thread so this thread's event loop stays free (no onProgress then). */
  readonly worker?: boolean;
  /** Called as weights load: (done, total) tensors. */
  readonly onProgress?: (done: number, total: number) => void;
  /** One-line notices (the native kernels missing, …); by default process warnings. */
  readonly onWarning?: (message: string) => void;
}

export async function loadModel(
  nameOrPath: string = DEFAULT_MODEL,
  options: LoadOptions = {},
): Promise<Model> {
  try {
    const found = await localLocation(nameOrPath, options.revision);
    const location = options.mmproj !== undefined ? withMmproj(found, options.mmproj) : found;
    const engineOptions: EngineOptions = {
      backend: {
        ...(options.backend !== undefined && { backend: options.backend }),
        ...(options.quant !== undefined && { quant: options.quant }),
        ...(options.threads !== undefined && { threads: options.threads }),
      },
      ...(options.maxContext !== undefined && { maxContext: options.maxContext }),
      ...(options.kvCache !== undefined && { kvCache: options.kvCache }),
    };
    const engine = options.worker
      ? await Engine.inWorker(location, engineOptions)
      : Engine.load(location, engineOptions, {
          ...(options.onProgress && { onProgress: options.onProgress }),
          ...(options.onWarning && { onWarning: options.onWarning }),
        });
    return new Model(engine, imageFetcher(options));
  } catch (err) {
    throw toLibraryError(err);
  }
}

/** The `--model` resolution; a hub model missing from the cache is never downloaded from here. */
async function localLocation(name: string, revision: string | undefined): Promise<string> {
  const cacheDir = hubCacheDir();
  const resolved = await resolveModel(name, {
    cacheDir,
    ...(revision !== undefined && { revision }),
    onMissing: async () => {
      throw new ModelNotFoundError(
        `${name} is not in the Hugging Face cache (${cacheDir}): run "npx pixtral pull ${name}" first`,
      );
    },
  });
  if (resolved.kind === 'path' && !existsSync(splitMmproj(resolved.location).location))
    throw new ModelNotFoundError(
      `no model at ${resolved.location} (a folder, builtin:tiny, an alias or org/name)`,
    );
  return resolved.location;
}

/** A loaded model. Close it when done: its weights (and worker thread) are freed then. */
export class Model {
  /** @internal Use {@link loadModel}. */
  constructor(
    private readonly engine: Engine,
    private readonly fetchImage: ImageFetcher,
  ) {
    engines.set(this, engine);
  }

  /** The name the model answers to (a folder's name, `pixtral-12b-2409`, or the demo's name). */
  get id(): string {
    return this.engine.id;
  }

  /** Longest prompt + answer, in tokens. */
  get maxContext(): number {
    return this.engine.maxContext;
  }

  /** Whether the model reads images. */
  get vision(): boolean {
    return this.engine.vision;
  }

  /** What runs it: 'native (…)' or 'reference'. */
  get backend(): string {
    return this.engine.settings.backend;
  }

  /** Starts an answer; read it as events (`for await`) or whole (`text()`, `json()`, `result()`). */
  chat<T = unknown>(options: ChatOptions<T>): ChatStream<T> {
    return new ChatStream(this.engine, options, this.fetchImage);
  }

  /** Token ids of plain text (no BOS, no chat template; text spelling a control token stays text). */
  tokenize(text: string): number[] {
    return this.engine.tokenizer.encode(text);
  }

  /** The text of token ids (control tokens left out). */
  detokenize(ids: readonly number[]): string {
    return this.engine.tokenizer.decode(ids);
  }

  /** Tokens the request's prompt takes — chat template, text and images — even when it exceeds the context. */
  async countTokens(options: ChatOptions<unknown>): Promise<number> {
    try {
      const { request } = await toCompletionRequest(options);
      return (await this.engine.prepare(request, this.fetchImage)).ids.length;
    } catch (err) {
      if (err instanceof EngineContextLengthError) return err.promptTokens;
      throw toLibraryError(err);
    }
  }

  /** Tokens an image of this size takes in a prompt (after the model's resize to patches). */
  imageTokens(width: number, height: number): number {
    const image = this.engine.image;
    if (!image) throw new InvalidRequestError(`${this.id} has no vision encoder`, 'no_vision');
    if (!(width >= 1 && height >= 1)) throw new InvalidRequestError(`invalid image size ${width}×${height}`);
    return imageTokensForSize(width, height, image);
  }

  /** Finishes what is in flight (or, with cancel, fails it) and frees the model. */
  close(options?: { cancel?: boolean }): Promise<void> {
    return this.engine.close(options);
  }
}

const engines = new WeakMap<Model, Engine>();

/** The engine behind a model, for createServer (not part of the public API). */
export function engineOf(model: Model): Engine {
  return engines.get(model)!;
}
