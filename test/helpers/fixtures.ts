/** Paths to the shared golden fixtures (read in place, never copied into the repo). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURE_DIR = resolve(process.env.PIXTRAL_FIXTURES ?? '../shared/fixtures/tiny-pixtral');

export function fixturePath(...parts: string[]): string {
  return join(FIXTURE_DIR, ...parts);
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadGoldens(): any {
  return JSON.parse(readFileSync(fixturePath('goldens.json'), 'utf8'));
}

export function readF32(relativeFile: string): Float32Array {
  const buf = readFileSync(fixturePath(relativeFile));
  const copy = new Uint8Array(buf);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}
