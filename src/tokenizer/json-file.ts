/** Reads a tokenizer file's JSON, naming the file and, for a syntax error, its line and column. */
import { readFileSync } from 'node:fs';
import { parseJsonText } from '../checkpoint/json-syntax.js';
import { TokenizerFileError } from './vocab.js';

export function readTokenizerJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TokenizerFileError(
      file,
      `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  try {
    return parseJsonText(text);
  } catch (err) {
    throw new TokenizerFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
}
