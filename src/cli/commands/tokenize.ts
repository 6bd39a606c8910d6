/**
 * `pixtral tokenize [--model DIR] (--text STR | --request REQUEST.json)`: token ids as JSON. Without --model
 * the bundled Tekken vocabulary is used. --pieces also prints what each id stands for.
 */
import { readFile } from 'node:fs/promises';
import { Checkpoint } from '../../checkpoint/index.js';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { dataUriFetcher } from '../../engine/fetchers.js';
import { preparePrompt } from '../../engine/prepare.js';
import { parsePyJson } from '../../chat/index.js';
import { bundledTokenizer, loadTokenizer, type Tokenizer } from '../../tokenizer/index.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      text: { type: 'string' },
      request: { type: 'string' },
      pieces: { type: 'boolean' },
      ...MODEL_OPTIONS,
    },
    { min: 0, max: 0, names: '' },
  );
  if ((values.text === undefined) === (values.request === undefined))
    throw new UsageError('give exactly one of --text STR or --request REQUEST.json');

  let tokenizer: Tokenizer;
  let image = { patchSize: 16, maxImageSize: 1024 };
  if (values.model) {
    const checkpoint = Checkpoint.open((await resolveModelOption(values.model, values, io)).location);
    try {
      tokenizer = loadTokenizer(checkpoint.tokenizerFile);
      image = checkpoint.image ?? image;
    } finally {
      checkpoint.close();
    }
  } else tokenizer = bundledTokenizer();

  let ids: readonly number[];
  if (values.text !== undefined) ids = tokenizer.encode(values.text);
  else {
    const body = await readRequest(values.request!);
    const rules = { tokenizer, image, maxContext: Infinity };
    ids = (await preparePrompt(validateCompletionRequest(body), rules, dataUriFetcher())).ids;
  }
  if (values.pieces) {
    const pieces = ids.map((id) =>
      tokenizer.isControl(id) ? tokenizer.specialName(id) : tokenizer.decode([id]),
    );
    io.out(JSON.stringify({ ids, pieces }));
  } else io.out(JSON.stringify(ids));
  return 0;
}

async function readRequest(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read request file "${file}" (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    // Python-exact parsing keeps 1.0 vs 1 and key order, so tool schemas reach the prompt byte for byte.
    return parsePyJson(text);
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message})`);
  }
}
