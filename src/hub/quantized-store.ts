/**
 * The project's own store of quantized copies: `$PIXTRAL_HOME/models/models--org--name/<commit>/<quant>/`, each
 * a folder written by `pixtral quantize`. Never inside the Hugging Face snapshots (whose files other tools
 * read and whose blobs are content-addressed); keyed by the source commit, so an updated model is quantized
 * again instead of silently running the old weights.
 */
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { QuantizedCheckpoint } from '../checkpoint/quantized.js';
import { COMMIT_HASH, repoFolderName, repoIdOfFolder } from './cache-layout.js';

export interface QuantizedCopy {
  readonly repo: string;
  readonly commit: string;
  readonly quant: string;
  readonly dir: string;
  readonly bytes: number;
}

export class QuantizedStore {
  constructor(readonly root: string) {}

  dirFor(repo: string, commit: string, quant: string): string {
    return join(this.root, repoFolderName(repo), commit, quant);
  }

  /** The finished copy, or null. A copy being written lives under another name until it is whole. */
  find(repo: string, commit: string, quant: string): string | null {
    const dir = this.dirFor(repo, commit, quant);
    return QuantizedCheckpoint.isQuantizedDir(dir) ? dir : null;
  }

  /**
   * Writes a copy through `write(dir)` into a temporary folder and renames it into place when done, so an
   * interrupted quantization never looks finished.
   */
  async create(repo: string, commit: string, quant: string, write: (dir: string) => Promise<void> | void) {
    const dir = this.dirFor(repo, commit, quant);
    const partial = `${dir}.partial-${process.pid}`;
    rmSync(partial, { recursive: true, force: true });
    try {
      await write(partial);
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    } finally {
      rmSync(partial, { recursive: true, force: true });
    }
    return dir;
  }

  /** Every finished copy, of one repo or of all. */
  copies(repo?: string): QuantizedCopy[] {
    if (!existsSync(this.root)) return [];
    const repos = repo
      ? [repo]
      : readdirSync(this.root)
          .map(repoIdOfFolder)
          .filter((r) => r !== null);
    return repos.flatMap((id) => {
      const base = join(this.root, repoFolderName(id));
      if (!existsSync(base)) return [];
      return readdirSync(base)
        .filter((commit) => COMMIT_HASH.test(commit))
        .flatMap((commit) =>
          readdirSync(join(base, commit))
            .filter((quant) => this.find(id, commit, quant) !== null)
            .map((quant) => {
              const dir = this.dirFor(id, commit, quant);
              return { repo: id, commit, quant, dir, bytes: folderBytes(dir) };
            }),
        );
    });
  }

  /** Deletes every copy of a repo (half-written ones too); returns the copies removed. */
  remove(repo: string): QuantizedCopy[] {
    const removed = this.copies(repo);
    rmSync(join(this.root, repoFolderName(repo)), { recursive: true, force: true });
    return removed;
  }
}

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((n, name) => n + statSync(join(dir, name)).size, 0);
}
