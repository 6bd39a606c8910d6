/**
 * The engine client: what the CLI and the HTTP layer talk to. It prepares a validated request into a prompt
 * (tokenizer, images, the context budget) and streams generations from wherever the model runs — the
 * batching scheduler in this thread, the same scheduler in an engine worker thread, or (upstream.ts) another
 * server. Neither face knows tensor shapes, and none of them re-reads the request.
 */
import type { CompletionRequest } from '../chat/completion-request.js';
import type { ImageSettings } from '../checkpoint/index.js';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { dataUriFetcher } from './fetchers.js';
import { type EngineOptions, type LoadHooks, loadModel, loadPromptSide } from './load-model.js';
import { choiceOptions, type ImageFetcher, preparePrompt, type Prompt } from './prepare.js';
import { type PromptInput, Scheduler, type SchedulerStats } from './scheduler.js';
import { WorkerScheduler } from './worker-scheduler.js';

export type { EngineOptions } from './load-model.js';

export interface EngineClient {
  /** The model's own id (folder name, or the builtin's name). */
  readonly id: string;
  /** Where generation runs, for /health and logs ("local native (…) backend", "upstream http://…"). */
  readonly description: string;
  readonly maxContext: number;
  readonly vision: boolean;
  /** How images are sized into patches (and so what they cost in tokens); null without a vision encoder. */
  readonly image: ImageSettings | null;
  /** What a local model runs with (null in front of an upstream, whose settings are its own). */
  readonly settings: EngineSettings | null;
  /** Renders a validated request to prompt ids with its images; throws ContextLengthError when it cannot fit. */
  prepare(request: CompletionRequest, fetchImage?: ImageFetcher): Promise<Prompt>;
  /** Starts choice `choice` of a prompt; throws at once when it cannot be queued (overload, shutdown). */
  generate(prompt: Prompt, choice?: number, signal?: AbortSignal): AsyncIterable<GenerationEvent>;
  /**
   * Starts `n` choices of a prompt together (a local model encodes its images and prefills it once), one
   * stream each; `scope` (the API key) bounds which cached image features and prompt prefixes it may reuse.
   */
  generateChoices(prompt: Prompt, n: number, run?: ChoicesRun): AsyncIterable<GenerationEvent>[];
  stats(): SchedulerStats;
  /** Stops taking work; with cancel, fails what is in flight instead of finishing it. */
  close(options?: { cancel?: boolean }): Promise<void>;
}

export interface ChoicesRun {
  readonly signal?: AbortSignal;
  /** Whose cached image features and prefixes the prompt may use: the API key's id (never another key's). */
  readonly scope?: string;
}

/** The settings a model actually runs with, as the thread that runs it reports them. */
export interface EngineSettings {
  readonly backend: string;
  readonly kvCache: string;
  readonly maxContext: number;
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly kvBudgetTokens: number;
  /** Bytes the image-feature and prefix caches may hold together. */
  readonly cacheBytes: number;
  /** Whether prompts reuse the KV of earlier prompts' prefixes. */
  readonly prefixCaching: boolean;
  /** Whether a lone sequence decodes with prompt-lookup drafts. */
  readonly speculation: boolean;
}

/** The scheduler in this thread, or its proxy in the engine worker: both queue prompts for generation. */
interface ModelRunner {
  submitChoices(prompt: PromptInput, choices: readonly GenerateOptions[]): AsyncIterable<GenerationEvent>[];
  readonly stats: SchedulerStats;
  readonly settings: EngineSettings;
  close(options?: { cancel?: boolean }): Promise<void>;
}

export class Engine implements EngineClient {
  private constructor(
    readonly id: string,
    /** The model's tokenizer (counting and tokenizing for the library; prompts are rendered in prepare). */
    readonly tokenizer: Tokenizer,
    /** How images are sized into patches; null when the model has no vision encoder. */
    readonly image: ImageSettings | null,
    private readonly runner: ModelRunner,
    private readonly where: string,
  ) {}

  /** Loads the model in this thread (the CLI, tests, embedding). */
  static load(location: string, options: EngineOptions = {}, hooks: LoadHooks = {}): Engine {
    const loaded = loadModel(location, options, hooks);
    const scheduler = new Scheduler(loaded.model, loaded.tokenizer, options.scheduler);
    return new Engine(loaded.id, loaded.tokenizer, loaded.image, scheduler, 'this thread');
  }

  /**
   * Loads the model in an engine worker thread (the server): forward passes never block this thread's event
   * loop, while prompts are still prepared here. `options` crosses to the worker as it is.
   */
  static async inWorker(location: string, options: EngineOptions = {}): Promise<Engine> {
    const side = loadPromptSide(location);
    const worker = await WorkerScheduler.start(location, options);
    return new Engine(side.id, side.tokenizer, side.image, worker, 'engine worker thread');
  }

  get settings(): EngineSettings {
    return this.runner.settings;
  }

  get description(): string {
    return `local ${this.settings.backend} backend (${this.where})`;
  }

  get maxContext(): number {
    return this.settings.maxContext;
  }

  get vision(): boolean {
    return this.image !== null;
  }

  prepare(request: CompletionRequest, fetchImage: ImageFetcher = dataUriFetcher()): Promise<Prompt> {
    const rules = { tokenizer: this.tokenizer, image: this.image, maxContext: this.maxContext };
    return preparePrompt(request, rules, fetchImage);
  }

  generate(prompt: Prompt, choice = 0, signal?: AbortSignal): AsyncIterable<GenerationEvent> {
    const { ids, images } = prompt;
    return this.runner.submitChoices({ ids, images }, [choiceOptions(prompt, choice, signal)])[0]!;
  }

  generateChoices(prompt: Prompt, n: number, run: ChoicesRun = {}): AsyncIterable<GenerationEvent>[] {
    const { ids, images } = prompt;
    const choices = Array.from({ length: n }, (_, choice) => choiceOptions(prompt, choice, run.signal));
    return this.runner.submitChoices(
      { ids, images, ...(run.scope !== undefined && { scope: run.scope }) },
      choices,
    );
  }

  stats(): SchedulerStats {
    return this.runner.stats;
  }

  close(options?: { cancel?: boolean }): Promise<void> {
    return this.runner.close(options);
  }
}
