/**
 * The production local backend: the model runs in an engine worker thread (continuous batching there), while
 * this thread only validates, tokenizes and preprocesses images — so HTTP stays responsive during long
 * forward passes, streams flow as tokens arrive, and disconnects are noticed at once.
 */
import type { KvFormat } from '../backend/kv-format.js';
import type { BackendSpec } from '../backend/select.js';
import type { ImageFetcher, PreparedPrompt } from '../engine/prepare.js';
import { PromptPreparer } from '../engine/prompt-preparer.js';
import type { SchedulerOptions, SchedulerStats } from '../engine/scheduler.js';
import { WorkerScheduler } from '../engine/worker-scheduler.js';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import type { ChatBackend } from './chat-backend.js';

export class WorkerChatBackend implements ChatBackend {
  private constructor(
    private readonly preparer: PromptPreparer,
    private readonly scheduler: WorkerScheduler,
  ) {}

  static async start(
    location: string,
    options: {
      maxContext?: number;
      scheduler?: SchedulerOptions;
      backend?: BackendSpec;
      kvCache?: KvFormat;
    } = {},
  ): Promise<WorkerChatBackend> {
    const preparer = PromptPreparer.open(location);
    const scheduler = await WorkerScheduler.start({ location, ...options });
    return new WorkerChatBackend(preparer, scheduler);
  }

  get description(): string {
    return `local ${this.scheduler.backendName} backend (engine worker thread)`;
  }

  get maxContext(): number {
    return this.scheduler.maxContext;
  }

  get vision(): boolean {
    return this.preparer.image !== null;
  }

  prepare(body: unknown, fetchImage: ImageFetcher): Promise<PreparedPrompt> {
    return this.preparer.prepare(body, fetchImage);
  }

  generate(prompt: PreparedPrompt, options: GenerateOptions): AsyncIterable<GenerationEvent> {
    return this.scheduler.submit(prompt.ids, prompt.images, options);
  }

  stats(): SchedulerStats {
    return this.scheduler.stats;
  }

  close(options?: { cancel?: boolean }): Promise<void> {
    return this.scheduler.close(options);
  }
}
