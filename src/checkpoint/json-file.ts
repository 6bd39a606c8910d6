import { readFileSync } from 'node:fs';
import { CheckpointError } from './errors.js';
import { parseJsonText } from './json-syntax.js';

/** Reads a JSON object from a model file, naming the file on any problem. */
export function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CheckpointError(
      file,
      `cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch (err) {
    throw new CheckpointError(file, `is not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError(file, 'must contain a JSON object');
  return json as Record<string, unknown>;
}
