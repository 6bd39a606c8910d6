/**
 * The scheduler owns the model and runs every request's generation (architecture: "a scheduler owns the
 * engine"). Requests wait in a bounded queue; a sequence is admitted while the KV budget allows, its prompt is
 * prefilled one chunk per tick (so a long image prompt never stalls the others for long), and the decode steps
 * of all running sequences are batched into one forward pass per tick (continuous batching). Cancellation —
 * an AbortSignal or a consumer that stops reading — drops a sequence between steps and frees its cache.
 *
 * What was computed once is not computed again (issue #15): a prompt starts from the longest prefix of an
 * earlier prompt of the same API key (prefix-cache.ts), its images come from the image-feature cache, its `n`
 * choices share one prefill, and a lone decoding sequence verifies tokens drafted from its prompt
 * (prompt-lookup.ts) several at a time.
 */
import type { Tensor } from '../backend/types.js';
import { type GenerateOptions, type GenerationEvent, Sequence } from '../generate/sequence.js';
import type { PixtralModel } from '../model/pixtral.js';
import type { ImageInput } from '../model/vision-encoder.js';
import { availableMemory } from '../hub/memory-fit.js';
import type { Tokenizer } from '../tokenizer/index.js';
import type { EngineSettings } from './engine.js';
import { EventChannel } from './event-channel.js';
import { ByteLru } from './byte-lru.js';
import { ImageFeatureCache, type ImageCacheStats, LOCAL_SCOPE } from './image-cache.js';
import { EMPTY_PREFIX_STATS, PrefixCache, type PrefixCacheStats } from './prefix-cache.js';
import { type Group, type Job, promptStart, type PromptInput } from './prompt-group.js';
import { EMPTY_SPECULATION_STATS, Speculation, type SpeculationStats } from './speculation.js';

export type { PromptInput } from './prompt-group.js';

/** Defaults of the scheduler, in one place. */
export const DEFAULT_MAX_BATCH = 8;
export const DEFAULT_MAX_QUEUE = 64;

export interface SchedulerOptions {
  /** Sequences decoding together in one batch. */
  readonly maxBatch?: number;
  /** Requests allowed to wait for a slot; beyond it submit() throws QueueFullError. */
  readonly maxQueue?: number;
  /** KV-cache positions (Σ prompt + max answer) the running sequences may reserve together. */
  readonly kvBudgetTokens?: number;
  /**
   * Bytes the caches (image features, prompt prefixes) may hold together; 0 keeps nothing; default a quarter
   * of the memory left once the weights are loaded.
   */
  readonly cacheBytes?: number;
  /** Reuse the KV of earlier prompts' prefixes (default true). */
  readonly prefixCaching?: boolean;
  /**
   * Prompt-lookup speculative decoding for a lone decoding sequence: true (the default) drafts when the
   * measured timings say it pays, 'always' drafts the most every step (tests, measurements), false never.
   */
  readonly speculation?: boolean | 'always';
}

export class QueueFullError extends Error {
  constructor(readonly waiting: number) {
    super(`the server is overloaded: ${waiting} requests are already waiting`);
    this.name = 'QueueFullError';
  }
}

export class SchedulerClosedError extends Error {
  constructor() {
    super('the server is shutting down');
    this.name = 'SchedulerClosedError';
  }
}

export interface SchedulerStats extends ImageCacheStats, PrefixCacheStats, SpeculationStats {
  readonly waiting: number;
  readonly running: number;
  readonly decodeSteps: number;
  readonly decodedTokens: number;
  /** Prompts prefilled (once per prompt, however many choices share it). */
  readonly prefills: number;
  /** Images run through the vision encoder and adapter (cache misses). */
  readonly visionEncodes: number;
}

/** The stats of an engine that has run nothing. */
export const EMPTY_STATS: SchedulerStats = {
  waiting: 0,
  running: 0,
  decodeSteps: 0,
  decodedTokens: 0,
  prefills: 0,
  visionEncodes: 0,
  imageCacheHits: 0,
  imageCacheMisses: 0,
  imageCacheBytes: 0,
  ...EMPTY_PREFIX_STATS,
  ...EMPTY_SPECULATION_STATS,
};

export class Scheduler {
  private readonly waiting: Group[] = [];
  private readonly running: Job[] = [];
  private prefilling: Group | null = null;
  private looping = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private decodeSteps = 0;
  private decodedTokens = 0;
  private prefills = 0;
  private visionEncodes = 0;
  private readonly speculation: Speculation | null;
  private readonly caches: ByteLru;
  private readonly imageCache: ImageFeatureCache;
  private readonly prefixCache: PrefixCache | null;
  readonly maxBatch: number;
  readonly maxQueue: number;
  readonly kvBudgetTokens: number;

  constructor(
    readonly model: PixtralModel,
    private readonly tokenizer: Tokenizer,
    options: SchedulerOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.kvBudgetTokens = options.kvBudgetTokens ?? 4 * model.config.maxContext;
    // Default: a quarter of the memory left once the weights are loaded (the scheduler starts after them).
    this.caches = new ByteLru(options.cacheBytes ?? Math.floor(availableMemory() / 4));
    this.imageCache = new ImageFeatureCache(this.caches);
    this.prefixCache = (options.prefixCaching ?? true) ? new PrefixCache(this.caches) : null;
    const speculation = options.speculation ?? true;
    this.speculation = speculation
      ? new Speculation(model, tokenizer, speculation === 'always' ? 'always' : 'adaptive')
      : null;
  }

  get settings(): EngineSettings {
    const { model } = this;
    return {
      backend: model.backend.name,
      kvCache: model.kvFormat,
      maxContext: model.config.maxContext,
      maxBatch: this.maxBatch,
      maxQueue: this.maxQueue,
      kvBudgetTokens: this.kvBudgetTokens,
      cacheBytes: this.caches.maxBytes,
      prefixCaching: this.prefixCache !== null,
      speculation: this.speculation !== null,
    };
  }

  get stats(): SchedulerStats {
    return {
      waiting: this.waiting.reduce((n, group) => n + group.jobs.length, 0),
      running: this.active().length,
      decodeSteps: this.decodeSteps,
      decodedTokens: this.decodedTokens,
      prefills: this.prefills,
      visionEncodes: this.visionEncodes,
      ...this.imageCache.stats,
      ...(this.prefixCache?.stats ?? EMPTY_PREFIX_STATS),
      ...(this.speculation?.stats ?? EMPTY_SPECULATION_STATS),
    };
  }

  /**
   * Queues a generation and returns its event stream. Throws at once (QueueFullError, SchedulerClosedError)
   * when it cannot be queued, so the caller can answer with the right status. `options.maxTokens` was
   * already fitted to the context when the prompt was prepared.
   */
  submit(
    ids: readonly number[],
    images: readonly ImageInput[],
    options: GenerateOptions,
  ): AsyncIterable<GenerationEvent> {
    return this.submitChoices({ ids, images }, [options])[0]!;
  }

  /**
   * Queues the choices of one prompt (one GenerateOptions each: their seeds differ) and returns one stream per
   * choice. The prompt is prefilled once; each choice then decodes from its own copy of the prompt's cache.
   */
  submitChoices(prompt: PromptInput, choices: readonly GenerateOptions[]): AsyncIterable<GenerationEvent>[] {
    if (this.closed) throw new SchedulerClosedError();
    if (choices.length === 0) throw new Error('a prompt needs at least one choice');
    const startsNow = this.waiting.length === 0 && !this.prefilling && this.running.length < this.maxBatch;
    if (!startsNow && this.waiting.length >= this.maxQueue) throw new QueueFullError(this.waiting.length);
    const scope = prompt.scope ?? LOCAL_SCOPE;
    const group: Group = { prompt, scope, jobs: [], cache: null, prefill: null, key: null, cachedTokens: 0 };
    for (const options of choices)
      group.jobs.push({
        sequence: new Sequence(this.tokenizer, prompt.ids.length, options),
        signal: options.signal,
        channel: new EventChannel<GenerationEvent>(() => this.kick()),
        group,
        cache: null,
        next: null,
        drafts: this.speculation?.policy() ?? null,
      });
    this.waiting.push(group);
    this.kick();
    return group.jobs.map((job) => job.channel);
  }

  /** Stops admitting; in-flight work finishes (or, with cancel, is failed) and the loop ends. */
  async close({ cancel = false } = {}): Promise<void> {
    this.closed = true;
    for (const group of this.waiting.splice(0))
      for (const job of group.jobs) job.channel.fail(new SchedulerClosedError());
    if (cancel) for (const job of this.active()) this.finish(job, new SchedulerClosedError());
    await this.idle;
  }

  private active(): Job[] {
    return this.prefilling ? [...this.prefilling.jobs, ...this.running] : [...this.running];
  }

  private kick(): void {
    if (this.looping) return;
    this.looping = true;
    this.idle = this.loop().finally(() => (this.looping = false));
  }

  private async loop(): Promise<void> {
    while (this.waiting.length > 0 || this.prefilling || this.running.length > 0) {
      this.dropCancelled();
      this.admit();
      try {
        if (this.prefilling) this.prefillChunk(this.prefilling);
        this.decodeStep();
      } catch (err) {
        // A failure inside the model fails the sequences it touched, never the process.
        for (const job of this.active()) this.finish(job, err);
      }
      await pause();
    }
  }

  private dropCancelled(): void {
    const waiting = this.waiting.flatMap((group) => group.jobs);
    for (const job of [...waiting, ...this.active()]) {
      if (job.channel.cancelled) this.finish(job, null);
      else if (job.signal?.aborted) this.finish(job, job.signal.reason);
    }
  }

  private reservedTokens(jobs: readonly Job[]): number {
    return jobs.reduce((n, job) => n + job.sequence.capacity, 0);
  }

  private admit(): void {
    if (this.prefilling || this.waiting.length === 0) return;
    const group = this.waiting[0]!;
    const alone = this.running.length === 0; // a lone prompt always runs
    if (!alone && this.running.length + group.jobs.length > this.maxBatch) return;
    const fits = this.reservedTokens(this.active()) + this.reservedTokens(group.jobs) <= this.kvBudgetTokens;
    if (!fits && !alone) return; // wait for memory
    this.waiting.shift();
    this.prefilling = group;
  }

  private prefillChunk(group: Group): void {
    if (!group.prefill) {
      const rest = promptStart(group, this.model, this.prefixCache, this.imageCache, (image) =>
        this.encode(image),
      );
      group.prefill = this.model.prefillSteps(rest.ids, group.cache!, rest.imageRows);
      this.prefills++;
      return; // the cache lookup and the vision encoder were this tick's work
    }
    const step = group.prefill.next();
    if (!step.done) return;
    this.prefilling = null;
    const cache = group.cache!;
    group.cache = null;
    this.prefixCache?.store(group.scope, group.key!, cache);
    // Every choice but the last decodes from a copy of the prompt's cache (pages shared until written) and
    // samples from its own logits (a constraint may mask them in place).
    const jobs = group.jobs.splice(0);
    jobs.forEach((job, i) => {
      const last = i === jobs.length - 1;
      job.cache = last ? cache : cache.fork();
      job.sequence.cachedTokens = group.cachedTokens;
      this.accept(job, last ? step.value : step.value.slice());
      if (job.next !== null) this.running.push(job);
    });
  }

  private encode(image: ImageInput): Tensor {
    this.visionEncodes++;
    return this.model.imageEmbeddings([image]);
  }

  private decodeStep(): void {
    const batch = this.running.filter((job) => job.next !== null);
    if (batch.length === 0) return;
    // A lone sequence reads every weight for one token: verifying a few drafted ones may cost little more.
    const alone = batch.length === 1 && !this.prefilling;
    if (this.speculation && alone) {
      const job = batch[0]!;
      const speculating = {
        prompt: job.group.prompt.ids,
        tokens: job.sequence.tokens,
        cache: job.cache!,
        next: job.next!,
        drafts: job.drafts!,
      };
      const draft = this.speculation.draft(speculating);
      if (draft.length > 0) {
        this.decodeSteps++;
        this.decodedTokens += this.speculation.verify(speculating, draft, (logits) => {
          this.accept(job, logits);
          return job.next;
        });
        return;
      }
    }
    const started = performance.now();
    const logits = this.model.stepBatch(
      batch.map((job) => job.next!),
      batch.map((job) => job.cache!),
    );
    if (alone) this.speculation?.plainStep((performance.now() - started) / 1000);
    this.decodeSteps++;
    this.decodedTokens += batch.length;
    batch.forEach((job, i) => this.accept(job, logits[i]!));
  }

  private accept(job: Job, logits: Float32Array): void {
    const { events, next } = job.sequence.accept(logits);
    for (const event of events) job.channel.push(event);
    job.next = next;
    if (next === null) this.finish(job, null);
  }

  private finish(job: Job, error: unknown): void {
    const remove = <T>(list: T[], item: T) => {
      const at = list.indexOf(item);
      if (at >= 0) list.splice(at, 1);
    };
    const { group } = job;
    remove(group.jobs, job);
    if (group.jobs.length === 0) {
      // No choice is left waiting for this prompt: stop its prefill and give its cache back.
      remove(this.waiting, group);
      if (this.prefilling === group) this.prefilling = null;
      group.cache?.release();
      group.cache = null;
    }
    remove(this.running, job);
    if (!error && job.cache && group.key) {
      // The prompt and the answer so far: the prefix of the conversation's next turn.
      const fed = job.cache.length - group.key.ids.length;
      const ids = [...group.key.ids, ...job.sequence.tokens.slice(0, fed)];
      this.prefixCache?.store(group.scope, { ...group.key, ids }, job.cache);
    }
    job.cache?.release();
    job.cache = null;
    job.next = null;
    if (error) job.channel.fail(error);
    else job.channel.end();
  }
}

/** Lets other work run (and a cancellation arrive) between heavy steps. */
function pause(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}
