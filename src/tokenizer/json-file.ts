/** Reads a tokenizer file's JSON, naming the file and, for a syntax error, its line and column. */
import { readJsonFile } from '../checkpoint/json-file.js';
import { TokenizerFileError } from './vocab.js';

export function readTokenizerJson(file: string): unknown {
  return readJsonFile(file, (message) => new TokenizerFileError(file, message));
}
