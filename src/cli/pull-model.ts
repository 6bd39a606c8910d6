/**
 * A pull with its progress on the terminal: what `pixtral pull` does, and what `--model org/name --pull`
 * does before loading. Settings come from the environment (HF_ENDPOINT, HF_HUB_CACHE, HF_TOKEN…) via hub-settings.
 */
import { HubClient } from '../hub/hub-client.js';
import {
  DEFAULT_PARALLEL_FILES,
  DEFAULT_REVISION,
  downloadSettings,
  hubCacheDir,
  hubEndpoint,
  hubToken,
} from '../hub/hub-settings.js';
import { parseModelRef } from '../hub/model-ref.js';
import { pullModel, type PullResult } from '../hub/pull.js';
import type { CliIO } from './io.js';
import { type FileBar, shortBytes, transferProgress } from './transfer-progress.js';

export interface PullRequest {
  readonly revision?: string;
  readonly token?: string;
  readonly parallel?: number;
}

const LAYOUT_NAMES = {
  consolidated: 'Mistral layout',
  hf: 'Hugging Face layout',
  gguf: 'GGUF',
  file: 'one file',
};

export async function pullWithProgress(name: string, request: PullRequest, io: CliIO): Promise<PullResult> {
  const ref = parseModelRef(name);
  const client = new HubClient(hubEndpoint(), hubToken(request.token));
  const progress = transferProgress();
  const bars = new Map<string, FileBar>();
  const result = await pullModel(client, ref, {
    cacheDir: hubCacheDir(),
    revision: request.revision ?? DEFAULT_REVISION,
    parallel: request.parallel ?? DEFAULT_PARALLEL_FILES,
    download: downloadSettings(),
    onPlan: (plan) => {
      const bytes = plan.files.reduce((n, f) => n + f.size, 0);
      io.err(
        `pulling ${plan.repo} at ${plan.commit.slice(0, 12)} (${LAYOUT_NAMES[plan.layout]}): ` +
          `${plan.files.length} file${plan.files.length === 1 ? '' : 's'}, ${shortBytes(bytes)}`,
      );
    },
    eventsFor: (file) => {
      const bar = progress.add(file.path, file.size);
      bars.set(file.path, bar);
      return {
        onBytes: (present, size) => bar.update(present, size),
        onResume: (offset) => bar.resumed(offset),
        onRetry: (line) => bar.note(line),
        onWait: (pid) =>
          bar.note(`${file.path}: waiting for another pull (pid ${pid}) fetching the same file`),
      };
    },
    onFileDone: (file, outcome) => bars.get(file.path)?.done(outcome),
  });
  const downloaded = Object.values(result.outcomes).filter((o) => o === 'downloaded').length;
  io.err(
    downloaded === 0
      ? `${result.repo}: already in the cache, nothing downloaded (${result.snapshotDir})`
      : `${result.repo}: ${downloaded} of ${result.files.length} files downloaded and verified, in ${result.snapshotDir}`,
  );
  return result;
}
