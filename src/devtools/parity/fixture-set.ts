/** Reading a golden fixture set (the format of ../shared/fixtures/tiny-pixtral, see its README). */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseJsonText } from '../../checkpoint/json-syntax.js';

/** A fixture set that cannot be read; user-facing, so the CLI prints it as one line (matched by name). */
export class FixtureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FixtureError';
  }
}

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
    const file = this.path(relative);
    const text = readFileSync(file, 'utf8');
    try {
      return parseJsonText(text);
    } catch (err) {
      throw new FixtureError(`${file}: not valid JSON (${(err as Error).message})`);
    }
  }

  /** A little-endian float32 array file. */
  f32(relative: string): Float32Array {
    const copy = new Uint8Array(this.bytes(relative));
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
}
