/**
 * One file of a revision into the cache, as huggingface_hub's `hf_hub_download` leaves it: bytes go to
 * `blobs/<etag>.incomplete` (appended to with a Range request when a pull was interrupted), are checked
 * against the etag, renamed to `blobs/<etag>` in one step, and linked from `snapshots/<commit>/<file>`.
 * A blob another snapshot already holds is linked, not fetched again.
 *
 * Failures leave nothing that looks complete: a dropped connection is retried from where it stopped and
 * otherwise leaves the `.incomplete` file for the next pull; a wrong checksum deletes it and fetches once
 * more from scratch; a full disk keeps what was written and says so.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RepoCache } from './cache-layout.js';
import { blobHasher, hashFilePrefix } from './checksum.js';
import { withFileLock } from './file-lock.js';
import { type HubClient, reason, type RemoteFile } from './hub-client.js';
import { HubError } from './hub-errors.js';

export interface DownloadSettings {
  /** Tries per file when the connection drops (each resumes where the last stopped). */
  readonly attempts: number;
  /** Pause before try n is n times this. */
  readonly retryDelayMs: number;
  /** Test hook: writing past this many bytes of one file fails as a full disk would (ENOSPC). */
  readonly failWriteAfter?: number;
}

export interface DownloadEvents {
  /** Bytes of the file present so far (including what an earlier pull left), and the file's size. */
  onBytes?(present: number, size: number): void;
  /** A resumed download, from this byte. */
  onResume?(offset: number): void;
  /** A dropped connection about to be retried, or a checksum mismatch about to be fetched again. */
  onRetry?(line: string): void;
  /** Another pull holds this blob's lock. */
  onWait?(pid: number): void;
}

/** What a file needed: nothing (already in the snapshot), a link to a blob we had, or a download. */
export type DownloadOutcome = 'cached' | 'linked' | 'downloaded';

export async function downloadFile(
  client: HubClient,
  cache: RepoCache,
  commit: string,
  file: RemoteFile,
  settings: DownloadSettings,
  events: DownloadEvents = {},
): Promise<DownloadOutcome> {
  if (isWhole(cache.cachedFile(commit, file.path), file.size)) return 'cached';
  return withFileLock(
    cache.lockPath(file.etag),
    async () => {
      const blob = cache.blobPath(file.etag);
      // The blob may have arrived while we waited, or belong to another snapshot already.
      if (isWhole(blob, file.size)) {
        cache.linkSnapshot(commit, file.path, file.etag);
        return 'linked';
      }
      rmSync(blob, { force: true }); // a blob of the wrong size is corrupt: fetch it again
      await fetchBlob(client, cache, commit, file, settings, events);
      cache.linkSnapshot(commit, file.path, file.etag);
      return 'downloaded';
    },
    { ...(events.onWait && { onWait: events.onWait }) },
  );
}

function isWhole(path: string | null, size: number): boolean {
  return path !== null && existsSync(path) && statSync(path).size === size;
}

/** Downloads into `.incomplete` until it is whole and its checksum is the etag, then renames it to the blob. */
async function fetchBlob(
  client: HubClient,
  cache: RepoCache,
  commit: string,
  file: RemoteFile,
  settings: DownloadSettings,
  events: DownloadEvents,
): Promise<void> {
  const partial = cache.incompletePath(file.etag);
  mkdirSync(dirname(partial), { recursive: true });
  let refetched = false;
  for (let attempt = 1; ; attempt++) {
    let present = existsSync(partial) ? statSync(partial).size : 0;
    if (present > file.size) {
      rmSync(partial); // longer than the file can be: not a prefix of it
      present = 0;
    }
    try {
      await transfer(client, cache.repoId, commit, file, partial, present, settings, events);
    } catch (err) {
      if (!(err instanceof HubError) || err.kind !== 'network' || attempt >= settings.attempts) throw err;
      events.onRetry?.(`${file.path}: ${err.message}; retrying (${attempt + 1}/${settings.attempts})`);
      await sleep(settings.retryDelayMs * attempt);
      continue;
    }
    const actual = await checksumOf(partial, file);
    if (actual === file.etag) break;
    rmSync(partial, { force: true });
    const what = `${file.path}: checksum mismatch (expected ${file.etag}, got ${actual})`;
    if (refetched) throw new HubError('checksum', `${what}; the download was deleted, run the pull again`);
    refetched = true;
    attempt = 0;
    events.onRetry?.(`${what}; fetching it again`);
  }
  renameSync(partial, cache.blobPath(file.etag));
}

/** One request: appends the rest of the file to `partial` (or rewrites it when the server ignored the Range). */
async function transfer(
  client: HubClient,
  repo: string,
  commit: string,
  file: RemoteFile,
  partial: string,
  present: number,
  settings: DownloadSettings,
  events: DownloadEvents,
): Promise<void> {
  if (present === file.size) return; // a whole file never renamed: only its checksum is left to check
  const response = await client.openFile(repo, commit, file.path, present);
  if (response.body === null) return;
  if (response.offset > 0) events.onResume?.(response.offset);
  let written = response.offset;
  events.onBytes?.(written, file.size);
  const handle = await open(partial, response.offset > 0 ? 'a' : 'w');
  try {
    for await (const chunk of readBody(response.body, file.path)) {
      if (settings.failWriteAfter !== undefined && written + chunk.length > settings.failWriteAfter)
        throw diskFull(partial, written, file.size);
      try {
        await handle.write(chunk);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw diskFull(partial, written, file.size);
        throw err;
      }
      written += chunk.length;
      events.onBytes?.(written, file.size);
    }
  } finally {
    await handle.close();
  }
  if (written < file.size)
    throw new HubError('network', `connection closed after ${written} of ${file.size} bytes`);
}

/** The body's chunks, with a dropped connection turned into a retryable network error. */
async function* readBody(body: AsyncIterable<Uint8Array>, path: string): AsyncIterable<Uint8Array> {
  try {
    yield* body;
  } catch (err) {
    throw new HubError('network', `connection lost while reading ${path} (${reason(err)})`);
  }
}

function diskFull(partial: string, written: number, size: number): HubError {
  return new HubError(
    'disk',
    `no space left on the device writing ${partial} (${written} of ${size} bytes kept); ` +
      'free some space and run the pull again to resume',
  );
}

/**
 * Hashes the finished file from disk rather than on the fly: with resumes, retries and servers that ignore a
 * Range, reading it back is the one way the checksum is surely of the bytes that will be used.
 */
async function checksumOf(path: string, file: RemoteFile): Promise<string> {
  const hash = blobHasher(file.lfs, file.size);
  await hashFilePrefix(hash, path, statSync(path).size);
  return hash.digest('hex');
}
