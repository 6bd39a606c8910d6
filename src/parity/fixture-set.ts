/** Reading a golden fixture set (the format of ../shared/fixtures/tiny-pixtral, see its README). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseJsonText } from '../checkpoint/json-syntax.js';

export class FixtureError extends Error {}

export class FixtureSet {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly goldens: any;

  constructor(readonly dir: string) {
    this.dir = resolve(dir);
    const file = join(this.dir, 'goldens.json');
    if (!existsSync(file)) throw new FixtureError(`${this.dir}: no goldens.json here — not a fixture set`);
    try {
      this.goldens = parseJsonText(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new FixtureError(`${file}: not valid JSON (${(err as Error).message})`);
    }
  }

  path(relative: string): string {
    return join(this.dir, relative);
  }

  bytes(relative: string): Buffer {
    return readFileSync(this.path(relative));
  }

  json(relative: string): unknown {
    return parseJsonText(readFileSync(this.path(relative), 'utf8'));
  }

  /** A little-endian float32 array file. */
  f32(relative: string): Float32Array {
    const copy = new Uint8Array(this.bytes(relative));
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
}
