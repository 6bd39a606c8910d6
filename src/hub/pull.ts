/**
 * `pull`: one hub model into the cache. The revision is resolved to a commit first and every file is fetched
 * at that commit (never at `main`), so a push during a long pull cannot mix two versions; the ref is written
 * before the files, as huggingface_hub does, so an interrupted pull still records what it was fetching.
 */
import { RepoCache } from './cache-layout.js';
import {
  type DownloadEvents,
  type DownloadOutcome,
  type DownloadSettings,
  downloadFile,
} from './download-file.js';
import { selectFiles, type Selection } from './file-selection.js';
import type { HubClient, RemoteFile } from './hub-client.js';
import type { ModelRef } from './model-ref.js';

export interface PullOptions {
  readonly cacheDir: string;
  readonly revision: string;
  readonly parallel: number;
  readonly download: DownloadSettings;
  /** Called once the file list is known, before any byte moves. */
  readonly onPlan?: (plan: PullPlan) => void;
  /** Events of one file's download. */
  readonly eventsFor?: (file: RemoteFile) => DownloadEvents;
  readonly onFileDone?: (file: RemoteFile, outcome: DownloadOutcome) => void;
}

export interface PullPlan {
  readonly repo: string;
  readonly commit: string;
  readonly gated: false | string;
  readonly layout: Selection['layout'];
  readonly files: readonly RemoteFile[];
}

export interface PullResult extends PullPlan {
  readonly snapshotDir: string;
  readonly outcomes: Readonly<Record<string, DownloadOutcome>>;
}

export async function pullModel(client: HubClient, ref: ModelRef, options: PullOptions): Promise<PullResult> {
  const revision = await client.revision(ref.repo, options.revision);
  const cache = new RepoCache(options.cacheDir, ref.repo);
  const names = revision.files.map((f) => f.path);
  // A named file the revision lacks is remembered under .no_exist, as huggingface_hub does.
  if (ref.choice.kind === 'file' && !names.includes(ref.choice.name))
    cache.markMissing(revision.commit, ref.choice.name);
  const selection = selectFiles(ref.repo, names, ref.choice);
  const files = selection.files.map((name) => revision.files.find((f) => f.path === name)!);
  const plan: PullPlan = {
    repo: ref.repo,
    commit: revision.commit,
    gated: revision.gated,
    layout: selection.layout,
    files,
  };
  options.onPlan?.(plan);
  cache.writeRef(options.revision, revision.commit);
  const outcomes: Record<string, DownloadOutcome> = {};
  await forEachLimited(files, options.parallel, async (file) => {
    const events = options.eventsFor?.(file) ?? {};
    outcomes[file.path] = await downloadFile(client, cache, revision.commit, file, options.download, events);
    options.onFileDone?.(file, outcomes[file.path]!);
  });
  return { ...plan, snapshotDir: cache.snapshotDir(revision.commit), outcomes };
}

/**
 * Runs `work` over `items`, at most `limit` at once. The first failure stops new work from starting and is
 * thrown once the running ones have settled, so no download is left writing after the pull returned.
 */
async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw (failure as { error: unknown }).error;
}
