/**
 * One writer per blob: `<cache>/.locks/models--org--name/<etag>.lock`, at the path huggingface_hub locks.
 *
 * huggingface_hub holds an flock on that file (and leaves the file behind); Node has no flock, so we take the
 * lock by creating the file atomically with our pid in it, and treat a file without a living pid (ours from a
 * killed pull, or one Python left behind) as free. Two `pixtral pull`s of one file never collide; a Python
 * download running at the same moment is not excluded, which the blob's `.incomplete` name and the final
 * checksum keep harmless.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface LockOptions {
  /** How often to look again while another process holds the lock. */
  readonly pollMs?: number;
  /** Called once when we have to wait, with the holder's pid. */
  readonly onWait?: (pid: number) => void;
}

export async function withFileLock<T>(
  path: string,
  work: () => Promise<T>,
  options: LockOptions = {},
): Promise<T> {
  mkdirSync(dirname(path), { recursive: true });
  let told = false;
  for (;;) {
    if (tryCreate(path)) break;
    const holder = holderPid(path);
    if (holder === null || !isAlive(holder)) {
      rmSync(path, { force: true }); // stale: its owner is gone
      continue;
    }
    if (!told) options.onWait?.(holder);
    told = true;
    await sleep(options.pollMs ?? 200);
  }
  try {
    return await work();
  } finally {
    if (holderPid(path) === process.pid) rmSync(path, { force: true });
  }
}

/** Creates the lock with our pid already in it (write aside, then link: atomic, and never seen empty). */
function tryCreate(path: string): boolean {
  const aside = `${path}.${process.pid}`;
  writeFileSync(aside, String(process.pid));
  try {
    linkSync(aside, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(aside, { force: true });
  }
}

function holderPid(path: string): number | null {
  let text;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
  // Ours always hold a pid; an empty one is Python's, left behind after its flock was released.
  const pid = Number(text);
  return text !== '' && Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
