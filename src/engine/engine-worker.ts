/**
 * The engine worker thread: loads the model and runs the batching scheduler, so the server's event loop never
 * waits on a forward pass (architecture: "compute never blocks the event loop"). It receives prepared prompts
 * and streams each request's events back; cancel and close messages arrive between steps.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { GenerationEvent } from '../generate/sequence.js';
import { loadModel } from './load-model.js';
import { Scheduler } from './scheduler.js';
import { type FromWorker, serializeError, type ToWorker, type WorkerInit } from './worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (message: FromWorker) => port.postMessage(message);

let scheduler: Scheduler;
try {
  const { model, tokenizer } = loadModel(init.location, init.options, {
    onWarning: (line) => console.warn(line),
  });
  scheduler = new Scheduler(model, tokenizer, init.options.scheduler);
  post({ type: 'ready', settings: scheduler.settings });
} catch (err) {
  post({ type: 'load-failed', error: serializeError(err) });
  process.exit(1);
}

const cancels = new Map<number, AbortController>();
/** Streams still being relayed: their last events can follow the scheduler's last step by a few turns. */
const relays = new Set<Promise<void>>();

/** Runs one prompt's choices, each streamed back under its own id and cancelled on its own. */
function serve(message: Extract<ToWorker, { type: 'submit' }>): void {
  const controllers = message.streams.map((id) => {
    const controller = new AbortController();
    cancels.set(id, controller);
    return controller;
  });
  let streams: AsyncIterable<GenerationEvent>[];
  try {
    streams = scheduler.submitChoices(
      message.prompt,
      message.choices.map((options, i) => ({ ...options, signal: controllers[i]!.signal })),
    );
  } catch (err) {
    for (const id of message.streams) {
      post({ type: 'error', id, error: serializeError(err), stats: scheduler.stats });
      cancels.delete(id);
    }
    return;
  }
  streams.forEach((events, i) => {
    const relaying = relay(message.streams[i]!, events);
    relays.add(relaying);
    void relaying.finally(() => relays.delete(relaying));
  });
}

async function relay(id: number, events: AsyncIterable<GenerationEvent>): Promise<void> {
  try {
    for await (const event of events) post({ type: 'event', id, event, stats: scheduler.stats });
    post({ type: 'end', id, stats: scheduler.stats });
  } catch (err) {
    post({ type: 'error', id, error: serializeError(err), stats: scheduler.stats });
  } finally {
    cancels.delete(id);
  }
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'submit') serve(message);
  else if (message.type === 'cancel')
    cancels.get(message.id)?.abort(new DOMException('cancelled', 'AbortError'));
  else
    void scheduler.close({ cancel: message.cancel }).then(async () => {
      // 'closed' makes the parent end the thread: every stream's last events and end must be posted first.
      while (relays.size > 0) await Promise.all(relays);
      post({ type: 'closed' });
      port.close();
    });
});
