/**
 * The main-thread face of the engine worker: the same submit/stats/close contract as the in-process Scheduler,
 * with the checks that must answer at once (queue bound, shutdown) made here, and each request's events
 * arriving as messages. Prompts are prepared on this side (tokenizer and images), weights live only in the
 * worker.
 */
import { Worker } from 'node:worker_threads';
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import type { EngineSettings } from './engine.js';
import { EventChannel } from './event-channel.js';
import type { EngineOptions } from './load-model.js';
import {
  EMPTY_STATS,
  type PromptInput,
  QueueFullError,
  SchedulerClosedError,
  type SchedulerStats,
} from './scheduler.js';
import { deserializeError, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.js';

export class WorkerScheduler {
  private readonly channels = new Map<number, EventChannel<GenerationEvent>>();
  private nextId = 1;
  private closed = false;
  private lastStats: SchedulerStats = EMPTY_STATS;
  private closing: Promise<void> | null = null;
  private readonly maxInFlight: number;

  private constructor(
    private readonly worker: Worker,
    /** What the worker runs with, as it reported once loaded. */
    readonly settings: EngineSettings,
  ) {
    this.maxInFlight = settings.maxBatch + settings.maxQueue + 1;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => this.failAll(new Error('the engine worker stopped')));
  }

  /** Starts the worker and waits until the model is loaded (or its loading failed). */
  static start(location: string, options: EngineOptions): Promise<WorkerScheduler> {
    const init: WorkerInit = { location, options };
    const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (message: FromWorker) => {
        if (message.type === 'ready') {
          worker.off('message', onMessage);
          resolve(new WorkerScheduler(worker, message.settings));
        } else if (message.type === 'load-failed') reject(deserializeError(message.error));
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  get stats(): SchedulerStats {
    return this.lastStats;
  }

  submitChoices(prompt: PromptInput, choices: readonly GenerateOptions[]): AsyncIterable<GenerationEvent>[] {
    if (this.closed) throw new SchedulerClosedError();
    if (this.channels.size + choices.length > this.maxInFlight)
      throw new QueueFullError(this.lastStats.waiting);
    const streams = choices.map(() => this.nextId++);
    const channels = choices.map(({ signal }, i) => {
      const id = streams[i]!;
      const cancel = () => this.post({ type: 'cancel', id });
      const channel = new EventChannel<GenerationEvent>(cancel);
      this.channels.set(id, channel);
      signal?.addEventListener('abort', () => {
        cancel();
        channel.fail(signal.reason);
        this.channels.delete(id);
      });
      return channel;
    });
    this.post({
      type: 'submit',
      streams,
      prompt: {
        ids: [...prompt.ids],
        images: [...prompt.images],
        ...(prompt.scope !== undefined && { scope: prompt.scope }),
      },
      choices: choices.map(({ signal: _signal, ...rest }) => rest),
    });
    return channels;
  }

  close({ cancel = false } = {}): Promise<void> {
    this.closed = true;
    this.closing ??= new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      this.post({ type: 'close', cancel });
    });
    return this.closing;
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private receive(message: FromWorker): void {
    if (message.type === 'ready' || message.type === 'load-failed') return;
    if (message.type === 'closed') {
      void this.worker.terminate();
      return;
    }
    this.lastStats = message.stats;
    const channel = this.channels.get(message.id);
    if (!channel) return;
    if (message.type === 'event') channel.push(message.event);
    else {
      this.channels.delete(message.id);
      if (message.type === 'end') channel.end();
      else channel.fail(deserializeError(message.error));
    }
  }

  private failAll(err: Error): void {
    this.closed = true;
    for (const channel of this.channels.values()) channel.fail(err);
    this.channels.clear();
  }
}
