/**
 * The production local backend: the model runs in an engine worker thread (continuous batching there), while
 * this thread only validates, tokenizes and preprocesses images — so HTTP stays responsive during long
 * forward passes, streams flow as tokens arrive, and disconnects are noticed at once.
 */
import type { KvFormat } from '../backend/kv-format.js';
import type { BackendSpec } from '../backend/select.js';
import type { ImageFetcher, PreparedPrompt } from '../engine/prepare.js';
import { PromptPreparer } from '../engine/prompt-preparer.js';
import type { SchedulerOptions } from '../engine/scheduler.js';
import { WorkerScheduler } from '../engine/worker-scheduler.js';
import { QueuedChatBackend } from './chat-backend.js';

export class WorkerChatBackend extends QueuedChatBackend {
  private constructor(
    private readonly preparer: PromptPreparer,
    private readonly scheduler: WorkerScheduler,
  ) {
    super(scheduler);
  }

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
}
