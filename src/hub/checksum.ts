/**
 * The etag of a blob, computed from its bytes: sha256 for an LFS file, the git blob sha1 (`sha1("blob
 * <size>\0" + bytes)`) for a file kept in git. Both are what the hub names the blob by, so a downloaded
 * file is checked against the very name it is stored under.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export function blobHasher(lfs: boolean, size: number): Hash {
  if (lfs) return createHash('sha256');
  return createHash('sha1').update(`blob ${size}\0`);
}

/** Feeds the first `length` bytes of a file into a hash (a resumed download's part already on disk). */
export async function hashFilePrefix(hash: Hash, path: string, length: number): Promise<void> {
  if (length === 0) return;
  for await (const chunk of createReadStream(path, { start: 0, end: length - 1 }))
    hash.update(chunk as Buffer);
}
