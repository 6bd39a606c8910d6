/**
 * `pixtral extract --schema SCHEMA.json INPUTS... --out rows.csv|rows.xlsx|rows.jsonl`: each image or PDF
 * page answered under the JSON schema (temperature 0, so a rerun gives the same rows), flattened into rows
 * with the input's name in the source column. The output is the batch's memory: a rerun skips every input
 * it already holds, and failures go to rows.errors.jsonl beside it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorsPath, ErrorsLog } from '../../extract/errors-log.js';
import { listInputs } from '../../extract/inputs.js';
import { rowShape, SOURCE_COLUMN } from '../../extract/row-shape.js';
import { type Answerer, runBatch } from '../../extract/run-batch.js';
import { checkOutPath, openSink } from '../../extract/sinks/open-sink.js';
import { Model } from '../../library/model.js';
import { connect } from '../../library/remote.js';
import type { JsonSchema } from '../../library/response-format.js';
import { parseCommandArgs } from '../args.js';
import { BACKEND_OPTIONS, engineOptions } from '../backend-options.js';
import { batchProgress } from '../batch-progress.js';
import { CliError, UsageError } from '../errors.js';
import { cliImageFetcher } from '../image-input.js';
import type { CliIO } from '../io.js';
import { loadLocalEngine } from '../local-engine.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';
import { numberOption } from '../options.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      schema: { type: 'string' },
      prompt: { type: 'string' },
      out: { type: 'string' },
      rows: { type: 'string' },
      model: { type: 'string' },
      url: { type: 'string' },
      key: { type: 'string' },
      concurrency: { type: 'string' },
      temperature: { type: 'string' },
      'max-tokens': { type: 'string' },
      ...BACKEND_OPTIONS,
      ...MODEL_OPTIONS,
    },
    { min: 1, max: Infinity, names: 'the inputs (images, folders of them, PDFs)' },
  );
  if (!values.schema) throw new UsageError('--schema SCHEMA.json is required');
  if (!values.out) throw new UsageError('--out rows.csv|rows.xlsx|rows.jsonl is required');
  checkOutPath(values.out);
  const schema = await readSchema(values.schema);
  const shape = rowShape(schema, values.rows);
  const settings = {
    schema,
    shape,
    prompt: values.prompt ?? defaultPrompt(schema),
    temperature: numberOption(values.temperature, 'temperature', 0, 0, 2),
    maxTokens: numberOption(values['max-tokens'], 'max-tokens', 2048, 1, 1 << 20),
    concurrency: numberOption(values.concurrency, 'concurrency', 1, 1, 64),
  };

  await mkdir(dirname(values.out), { recursive: true });
  const sink = await openSink(values.out, [SOURCE_COLUMN, ...shape.columns]);
  const errors = new ErrorsLog(errorsPath(values.out));
  const { inputs, failures } = await listInputs(positionals);
  for (const failure of failures) {
    await errors.add(failure.source, failure.reason);
    io.err(`${failure.source}: failed: ${failure.reason}`);
  }
  const pending = inputs.filter((input) => !sink.done.has(input.source));
  if (inputs.length > pending.length)
    io.err(
      `${inputs.length - pending.length} of ${inputs.length} inputs are already in ${values.out}: skipped`,
    );

  let failed = failures.length;
  if (pending.length > 0) {
    const model = await answerer(values, io);
    const progress = batchProgress('extract', pending.length, io);
    try {
      const result = await runBatch(model, pending, sink, errors, settings, {
        onInput: (source, outcome) =>
          progress.finished(source, 'error' in outcome ? outcome.error : undefined),
      });
      failed += result.failed;
    } finally {
      progress.done();
      await Promise.all([sink.close(), errors.close(), model.close()]);
    }
  } else await Promise.all([sink.close(), errors.close()]);
  if (failed > 0) {
    io.err(`${failed} input${failed === 1 ? '' : 's'} failed: see ${errors.path}`);
    return 1;
  }
  return 0;
}

async function readSchema(path: string): Promise<JsonSchema> {
  let schema: unknown;
  try {
    schema = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CliError(`cannot read the schema ${path}: ${(err as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || (schema as JsonSchema).type !== 'object')
    throw new CliError(`the schema ${path} must be a JSON Schema of "type": "object"`);
  return schema as JsonSchema;
}

/** The schema is in the prompt too: the grammar forces the shape, but the model reads what to put in it. */
function defaultPrompt(schema: JsonSchema): string {
  return `Extract the data of this document as JSON that follows this JSON Schema:\n${JSON.stringify(schema)}`;
}

/** A remote server (--url, with --model as the name to ask for) or a local model (--model, else the demo model). */
async function answerer(
  values: { model?: string; url?: string; key?: string } & Parameters<typeof engineOptions>[0] &
    Parameters<typeof resolveModelOption>[1],
  io: CliIO,
): Promise<Answerer & { close(): Promise<void> }> {
  if (values.url)
    return connect(values.url, {
      ...(values.model !== undefined && { model: values.model }),
      ...(values.key !== undefined && { apiKey: values.key }),
    });
  const engine = await loadLocalEngine(values, io);
  return new Model(engine, cliImageFetcher);
}
