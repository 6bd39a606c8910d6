/**
 * The batch: every input not yet in the output is asked for its answer under the schema, flattened and
 * appended as soon as it finishes; an input that fails is written to the errors file and the batch goes on.
 * Up to `concurrency` inputs are in flight; their appends are queued so each lands whole.
 */
import type { ChatOptions } from '../library/chat-request.js';
import type { ChatStream } from '../library/chat-stream.js';
import type { JsonSchema } from '../library/response-format.js';
import type { ErrorsLog } from './errors-log.js';
import { flatten } from './flatten.js';
import type { ExtractInput } from './inputs.js';
import type { RowShape } from './row-shape.js';
import type { RowSink } from './sinks/row-sink.js';

/** A local model or a remote server: both answer `chat()` the same way. */
export interface Answerer {
  chat(options: ChatOptions): ChatStream;
}

export interface BatchSettings {
  readonly schema: JsonSchema;
  readonly shape: RowShape;
  readonly prompt: string;
  readonly temperature: number;
  readonly maxTokens: number;
  readonly concurrency: number;
}

export interface BatchEvents {
  /** After each input: it was written (rows) or failed (error). */
  onInput?(source: string, outcome: { rows: number } | { error: string }): void;
}

export async function runBatch(
  model: Answerer,
  inputs: readonly ExtractInput[],
  sink: RowSink,
  errors: ErrorsLog,
  settings: BatchSettings,
  events: BatchEvents = {},
): Promise<{ written: number; failed: number }> {
  const queue = [...inputs];
  let writes = Promise.resolve();
  let written = 0;
  let failed = 0;
  // One after another, so two inputs' rows never interleave and the xlsx is never renamed twice at once.
  const serially = (write: () => Promise<void>) => (writes = writes.then(write));

  const work = async () => {
    for (let input = queue.shift(); input; input = queue.shift()) {
      const { source } = input;
      try {
        const rows = flatten(await answer(model, input, settings), settings.shape, source);
        await serially(() => sink.append(rows));
        written++;
        events.onInput?.(source, { rows: rows.length });
      } catch (err) {
        const reason = (err as Error).message ?? String(err);
        await serially(() => errors.add(source, reason));
        failed++;
        events.onInput?.(source, { error: reason });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, settings.concurrency) }, work));
  return { written, failed };
}

async function answer(model: Answerer, input: ExtractInput, settings: BatchSettings): Promise<unknown> {
  const result = await model
    .chat({
      messages: settings.prompt,
      images: [await input.image()],
      responseFormat: { type: 'json_schema', schema: settings.schema, name: 'extract' },
      temperature: settings.temperature,
      maxTokens: settings.maxTokens,
    })
    .result();
  if (result.finishReason === 'length')
    throw new Error(`the answer was cut at --max-tokens ${settings.maxTokens} before its JSON ended`);
  return JSON.parse(result.text);
}
