import { readFileSync } from 'node:fs';
import { CheckpointError } from './errors.js';
import { parseJsonText } from './json-syntax.js';

/**
 * Reads a JSON file; any problem (unreadable, a syntax error with its line and column) becomes the caller's
 * error class through `problem`, so each kind of model file names itself the same way.
 */
export function readJsonFile(file: string, problem: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw problem(`cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return parseJsonText(text);
  } catch (err) {
    throw problem(`is not valid JSON (${(err as Error).message})`);
  }
}

/** Reads a JSON object from a model file, naming the file on any problem. */
export function readJsonObject(file: string): Record<string, unknown> {
  const json = readJsonFile(file, (message) => new CheckpointError(file, message));
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError(file, 'must contain a JSON object');
  return json as Record<string, unknown>;
}
