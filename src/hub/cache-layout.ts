/**
 * The Hugging Face cache, laid out exactly as huggingface_hub's `file_download.py` writes it, so a model fetched
 * by `huggingface-cli`, transformers or vLLM is ours without a copy, and ours is theirs:
 *
 *   <cache>/models--org--name/blobs/<etag>                 file contents, named by the LFS sha256 or git blob sha1
 *   <cache>/models--org--name/blobs/<etag>.incomplete      a download in progress (resumed with a Range request)
 *   <cache>/models--org--name/snapshots/<commit>/<file>     relative symlink to ../../blobs/<etag>
 *   <cache>/models--org--name/refs/<revision>              the commit a branch or tag pointed to (no newline)
 *   <cache>/models--org--name/.no_exist/<commit>/<file>     empty marker: that revision has no such file
 *   <cache>/.locks/models--org--name/<etag>.lock           one writer per blob
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

export const COMMIT_HASH = /^[0-9a-f]{40}$/;
const FOLDER_PREFIX = 'models--';

/** `org/name` → `models--org--name` (huggingface_hub's `repo_folder_name` for model repos). */
export function repoFolderName(repoId: string): string {
  return FOLDER_PREFIX + repoId.split('/').join('--');
}

/** The inverse, for listing the cache: `models--org--name` → `org/name`, or null for anything else. */
export function repoIdOfFolder(folder: string): string | null {
  if (!folder.startsWith(FOLDER_PREFIX)) return null;
  return folder.slice(FOLDER_PREFIX.length).split('--').join('/');
}

/** One repository's corner of the cache. Paths only, plus the few writes whose shape the layout fixes. */
export class RepoCache {
  readonly dir: string;

  constructor(
    readonly cacheDir: string,
    readonly repoId: string,
  ) {
    this.dir = join(cacheDir, repoFolderName(repoId));
  }

  blobPath(etag: string): string {
    return join(this.dir, 'blobs', etag);
  }

  incompletePath(etag: string): string {
    return this.blobPath(etag) + '.incomplete';
  }

  lockPath(etag: string): string {
    return join(this.cacheDir, '.locks', repoFolderName(this.repoId), `${etag}.lock`);
  }

  snapshotDir(commit: string): string {
    return join(this.dir, 'snapshots', commit);
  }

  snapshotFile(commit: string, file: string): string {
    return join(this.snapshotDir(commit), file);
  }

  /** The commit a revision names locally: a commit hash with a snapshot, or what `refs/<revision>` holds. */
  commitOf(revision: string): string | null {
    if (COMMIT_HASH.test(revision)) return existsSync(this.snapshotDir(revision)) ? revision : null;
    const ref = join(this.dir, 'refs', revision);
    if (!existsSync(ref)) return null;
    const commit = readFileSync(ref, 'utf8').trim();
    return COMMIT_HASH.test(commit) ? commit : null;
  }

  /** Records where a branch or tag points; a commit hash needs no ref (huggingface_hub writes none either). */
  writeRef(revision: string, commit: string): void {
    if (revision === commit) return;
    const ref = join(this.dir, 'refs', revision);
    mkdirSync(dirname(ref), { recursive: true });
    if (existsSync(ref) && readFileSync(ref, 'utf8') === commit) return;
    writeAtomically(ref, commit);
  }

  /** The refs as `{revision: commit}`; branch names may contain '/', so refs/ is walked. */
  refs(): Record<string, string> {
    const out: Record<string, string> = {};
    const root = join(this.dir, 'refs');
    for (const file of filesUnder(root)) out[file] = readFileSync(join(root, file), 'utf8').trim();
    return out;
  }

  snapshots(): string[] {
    const root = join(this.dir, 'snapshots');
    return existsSync(root) ? readdirSync(root).filter((name) => COMMIT_HASH.test(name)) : [];
  }

  /** The files of a snapshot, relative to it ('/'-separated), whether symlinks or (on Windows) copies. */
  snapshotFiles(commit: string): string[] {
    return filesUnder(this.snapshotDir(commit));
  }

  /** A file of a snapshot when it is there and its blob is whole; a dangling link counts as missing. */
  cachedFile(commit: string, file: string): string | null {
    const path = this.snapshotFile(commit, file);
    return existsSync(path) && statSync(path).isFile() ? path : null;
  }

  /**
   * Points `snapshots/<commit>/<file>` at its blob with a relative link (`../../blobs/<etag>`, one more `../`
   * per folder in the file name), replacing any older link in one rename so readers never see it missing.
   */
  linkSnapshot(commit: string, file: string, etag: string): string {
    const link = this.snapshotFile(commit, file);
    mkdirSync(dirname(link), { recursive: true });
    const target = relative(dirname(link), this.blobPath(etag));
    const temporary = `${link}.${process.pid}.link`;
    rmSync(temporary, { force: true });
    symlinkSync(target, temporary);
    renameSync(temporary, link);
    return link;
  }

  /** The blob a snapshot file links to, or null when it is a plain file (a copy) or missing. */
  blobOf(commit: string, file: string): string | null {
    const path = this.snapshotFile(commit, file);
    if (!existsSync(path) || !lstatSync(path).isSymbolicLink()) return null;
    return resolve(dirname(path), readlinkSync(path));
  }

  noExistPath(commit: string, file: string): string {
    return join(this.dir, '.no_exist', commit, file);
  }

  /** Remembers that a revision lacks a file, so the next lookup needs no request. */
  markMissing(commit: string, file: string): void {
    const marker = this.noExistPath(commit, file);
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, '');
  }

  isMarkedMissing(commit: string, file: string): boolean {
    return existsSync(this.noExistPath(commit, file));
  }

  /**
   * Deletes a snapshot, the refs that point to it and its `.no_exist` markers, and the blobs no other snapshot
   * links to. Returns the bytes freed.
   */
  removeSnapshot(commit: string): number {
    const blobs = new Set(this.snapshotFiles(commit).map((f) => this.blobOf(commit, f)));
    const stillUsed = new Set(
      this.snapshots()
        .filter((other) => other !== commit)
        .flatMap((other) => this.snapshotFiles(other).map((f) => this.blobOf(other, f))),
    );
    let freed = 0;
    for (const blob of blobs) {
      if (blob === null || stillUsed.has(blob) || !existsSync(blob)) continue;
      freed += statSync(blob).size;
      rmSync(blob, { force: true });
    }
    for (const [revision, target] of Object.entries(this.refs()))
      if (target === commit) rmSync(join(this.dir, 'refs', revision), { force: true });
    rmSync(this.snapshotDir(commit), { recursive: true, force: true });
    rmSync(join(this.dir, '.no_exist', commit), { recursive: true, force: true });
    if (this.snapshots().length === 0) rmSync(this.dir, { recursive: true, force: true });
    return freed;
  }
}

/** Every repository of the cache (model repos only: datasets-- and spaces-- are not ours to list). */
export function cachedRepos(cacheDir: string): RepoCache[] {
  if (!existsSync(cacheDir)) return [];
  return readdirSync(cacheDir)
    .map(repoIdOfFolder)
    .filter((id): id is string => id !== null)
    .sort()
    .map((id) => new RepoCache(cacheDir, id));
}

/** Writes a small file through a temporary name and a rename: a reader sees the old text or the new, never half. */
export function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

/** The names linkSnapshot and writeAtomically use for a moment before their rename. */
const OUR_TEMPORARY = /\.\d+\.(link|tmp)$/;

function filesUnder(root: string, prefix = ''): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
    const name = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) return filesUnder(join(root, entry.name), name);
    return OUR_TEMPORARY.test(basename(name)) ? [] : [name];
  });
}
