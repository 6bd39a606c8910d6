/**
 * Messages between the server's main thread and the engine worker, and how errors cross the boundary (by
 * name, rebuilt as the same classes so the HTTP layer maps them to the same statuses).
 */
import type { GenerateOptions, GenerationEvent } from '../generate/sequence.js';
import { ContextLengthError } from '../generate/sequence.js';
import { KvCacheFullError } from '../model/kv-cache.js';
import type { ImageInput } from '../model/vision-encoder.js';
import type { EngineSettings } from './engine.js';
import type { EngineOptions } from './load-model.js';
import { QueueFullError, SchedulerClosedError, type SchedulerStats } from './scheduler.js';

/** The worker's workerData: the model location and the engine options exactly as the caller gave them. */
export interface WorkerInit {
  readonly location: string;
  readonly options: EngineOptions;
}

export type WorkerOptions = Omit<GenerateOptions, 'signal'>;

export type ToWorker =
  /** One prompt's choices: `streams[i]` is the id the events of choice i (options `choices[i]`) come back with. */
  | {
      type: 'submit';
      streams: number[];
      prompt: { ids: number[]; images: ImageInput[]; scope?: string };
      choices: WorkerOptions[];
    }
  | { type: 'cancel'; id: number }
  | { type: 'close'; cancel: boolean };

export type FromWorker =
  | { type: 'ready'; settings: EngineSettings }
  | { type: 'load-failed'; error: SerializedError }
  | { type: 'event'; id: number; event: GenerationEvent; stats: SchedulerStats }
  | { type: 'end'; id: number; stats: SchedulerStats }
  | { type: 'error'; id: number; error: SerializedError; stats: SchedulerStats }
  | { type: 'closed' };

export interface SerializedError {
  name: string;
  message: string;
  fields: Record<string, number>;
}

export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  const fields: Record<string, number> = {};
  for (const key of ['promptTokens', 'maxContext', 'waiting', 'capacity'])
    if (typeof (e as unknown as Record<string, unknown>)[key] === 'number')
      fields[key] = (e as unknown as Record<string, number>)[key]!;
  return { name: e.name, message: e.message, fields };
}

export function deserializeError(s: SerializedError): Error {
  switch (s.name) {
    case 'ContextLengthError':
      return new ContextLengthError(s.fields.promptTokens ?? 0, s.fields.maxContext ?? 0);
    case 'QueueFullError':
      return new QueueFullError(s.fields.waiting ?? 0);
    case 'SchedulerClosedError':
      return new SchedulerClosedError();
    case 'KvCacheFullError':
      return new KvCacheFullError(s.fields.capacity ?? 0);
    case 'AbortError':
      return new DOMException(s.message, 'AbortError');
    default:
      return Object.assign(new Error(s.message), { name: s.name });
  }
}
