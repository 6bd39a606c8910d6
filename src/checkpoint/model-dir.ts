/**
 * Finding files inside a model folder without ever leaving it: names that come from files we read
 * (e.g. shard names in an index) must stay inside the folder.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { CheckpointError } from './errors.js';

export function resolveModelDir(dir: string): string {
  const full = resolve(dir);
  if (!existsSync(full)) throw new CheckpointError(full, 'model directory does not exist');
  if (!statSync(full).isDirectory()) throw new CheckpointError(full, 'is not a directory');
  return full;
}

/** Joins a file name found inside a model file onto the model dir, refusing anything that escapes it. */
export function fileInside(dir: string, name: string, namedIn: string): string {
  if (name.length === 0 || isAbsolute(name) || name.includes('\0'))
    throw new CheckpointError(
      namedIn,
      `refers to "${name}", which is not a plain file name inside the model directory`,
    );
  const full = resolve(dir, name);
  const rel = relative(dir, full);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel))
    throw new CheckpointError(namedIn, `refers to "${name}", which is outside the model directory ${dir}`);
  return full;
}
