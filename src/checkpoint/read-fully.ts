/** Reading a byte range of a file whole: the loop every weight reader needs, in one place. */
import { closeSync, openSync, readSync } from 'node:fs';

/** One readSync call at most (Node refuses reads of 2 GB and over). */
const MAX_READ = 1 << 30;

/**
 * Fills `out` from `position` of an open file; returns how many bytes were there (fewer than asked only where the
 * file ends first — the caller names that problem).
 */
export function readFully(fd: number, out: Uint8Array, position: number): number {
  let done = 0;
  while (done < out.length) {
    const n = readSync(fd, out, done, Math.min(out.length - done, MAX_READ), position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** `readFully` on a file opened and closed here. */
export function readFileRange(path: string, out: Uint8Array, position: number): number {
  const fd = openSync(path, 'r');
  try {
    return readFully(fd, out, position);
  } finally {
    closeSync(fd);
  }
}
