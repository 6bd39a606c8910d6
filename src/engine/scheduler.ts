/**
 * The scheduler owns the model and runs every request's generation (architecture: "a scheduler owns the
 * engine"). Requests wait in a bounded queue; a sequence is admitted while the KV budget allows, its prompt is
 * prefilled one chunk per tick (so a long image prompt never stalls the others for long), and the decode steps
 * of all running sequences are batched into one forward pass per tick (continuous batching). Cancellation —
 * an AbortSignal or a consumer that stops reading — drops a sequence between steps and frees its cache.
 */
import type { Tensor } from '../backend/types.js';
import { type GenerateOptions, type GenerationEvent, Sequence } from '../generate/sequence.js';
import type { KvCache } from '../model/kv-cache.js';
import type { PixtralModel } from '../model/pixtral.js';
import type { ImageInput } from '../model/vision-encoder.js';
import type { Tokenizer } from '../tokenizer/index.js';
import type { EngineSettings } from './engine.js';
import { EventChannel } from './event-channel.js';

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

interface Job {
  readonly ids: readonly number[];
  readonly images: readonly ImageInput[];
  readonly sequence: Sequence;
  readonly channel: EventChannel<GenerationEvent>;
  readonly signal: AbortSignal | undefined;
  cache: KvCache | null;
  prefill: Generator<number, Float32Array> | null;
  /** The token to feed in the next decode step. */
  next: number | null;
}

export interface SchedulerStats {
  readonly waiting: number;
  readonly running: number;
  readonly decodeSteps: number;
  readonly decodedTokens: number;
}

export class Scheduler {
  private readonly waiting: Job[] = [];
  private readonly running: Job[] = [];
  private prefilling: Job | null = null;
  private looping = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private decodeSteps = 0;
  private decodedTokens = 0;
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
    };
  }

  get stats(): SchedulerStats {
    return {
      waiting: this.waiting.length,
      running: this.running.length + (this.prefilling ? 1 : 0),
      decodeSteps: this.decodeSteps,
      decodedTokens: this.decodedTokens,
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
    if (this.closed) throw new SchedulerClosedError();
    const sequence = new Sequence(this.tokenizer, ids.length, options);
    const startsNow = this.waiting.length === 0 && !this.prefilling && this.running.length < this.maxBatch;
    if (!startsNow && this.waiting.length >= this.maxQueue) throw new QueueFullError(this.waiting.length);
    const job: Job = {
      ids,
      images,
      sequence,
      signal: options.signal,
      channel: new EventChannel<GenerationEvent>(() => this.kick()),
      cache: null,
      prefill: null,
      next: null,
    };
    this.waiting.push(job);
    this.kick();
    return job.channel;
  }

  /** Stops admitting; in-flight work finishes (or, with cancel, is failed) and the loop ends. */
  async close({ cancel = false } = {}): Promise<void> {
    this.closed = true;
    for (const job of this.waiting.splice(0)) job.channel.fail(new SchedulerClosedError());
    if (cancel) for (const job of this.active()) this.finish(job, new SchedulerClosedError());
    await this.idle;
  }

  private active(): Job[] {
    return this.prefilling ? [this.prefilling, ...this.running] : [...this.running];
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
    for (const job of [...this.waiting, ...this.active()]) {
      if (job.channel.cancelled) this.finish(job, null);
      else if (job.signal?.aborted) this.finish(job, job.signal.reason);
    }
  }

  private reservedTokens(): number {
    return this.active().reduce((n, job) => n + job.sequence.capacity, 0);
  }

  private admit(): void {
    if (this.prefilling || this.waiting.length === 0) return;
    if (this.running.length >= this.maxBatch) return;
    const job = this.waiting[0]!;
    const fits = this.reservedTokens() + job.sequence.capacity <= this.kvBudgetTokens;
    if (!fits && this.running.length > 0) return; // wait for memory; a lone sequence always runs
    this.waiting.shift();
    this.prefilling = job;
  }

  private prefillChunk(job: Job): void {
    if (!job.prefill) {
      job.cache = this.model.newCache(job.sequence.capacity);
      const imageRows: Tensor | undefined =
        job.images.length > 0 ? this.model.imageEmbeddings(job.images) : undefined;
      job.prefill = this.model.prefillSteps(job.ids, job.cache, imageRows);
      return; // the vision encoder was this tick's work
    }
    const step = job.prefill.next();
    if (!step.done) return;
    this.prefilling = null;
    this.accept(job, step.value);
    if (job.next !== null) this.running.push(job);
  }

  private decodeStep(): void {
    const batch = this.running.filter((job) => job.next !== null);
    if (batch.length === 0) return;
    const logits = this.model.stepBatch(
      batch.map((job) => job.next!),
      batch.map((job) => job.cache!),
    );
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
    const remove = (list: Job[]) => {
      const at = list.indexOf(job);
      if (at >= 0) list.splice(at, 1);
    };
    remove(this.waiting);
    remove(this.running);
    if (this.prefilling === job) this.prefilling = null;
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
