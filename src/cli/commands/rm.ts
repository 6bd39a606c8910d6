/**
 * `pixtral rm NAME [--hf-cache]`: removes our quantized copies of a model and, only with `--hf-cache`, its
 * Hugging Face snapshots too — keeping any blob another snapshot still links to. Other tools share that cache,
 * so it is never touched without being asked.
 */
import { RepoCache } from '../../hub/cache-layout.js';
import { HubError } from '../../hub/hub-errors.js';
import { hubCacheDir, pixtralModelsDir } from '../../hub/hub-settings.js';
import { parseModelRef } from '../../hub/model-ref.js';
import { QuantizedStore } from '../../hub/quantized-store.js';
import { parseCommandArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { shortBytes } from '../transfer-progress.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { 'hf-cache': { type: 'boolean' } },
    { min: 1, max: 1, names: 'NAME (org/name or an alias)' },
  );
  const { repo } = parseModelRef(positionals[0]!);
  let removed = 0;
  for (const copy of new QuantizedStore(pixtralModelsDir()).remove(repo)) {
    io.out(
      `removed the ${copy.quant} copy of ${repo} at ${copy.commit.slice(0, 12)} (${shortBytes(copy.bytes)})`,
    );
    removed++;
  }
  const cache = new RepoCache(hubCacheDir(), repo);
  const snapshots = cache.snapshots();
  if (values['hf-cache'])
    for (const commit of snapshots) {
      const freed = cache.removeSnapshot(commit);
      io.out(
        `removed the Hugging Face snapshot of ${repo} at ${commit.slice(0, 12)} (${shortBytes(freed)} freed)`,
      );
      removed++;
    }
  else if (snapshots.length > 0)
    io.err(`kept ${repo} in the Hugging Face cache (${cache.dir}); add --hf-cache to remove it there too`);
  if (removed === 0 && (values['hf-cache'] || snapshots.length === 0))
    throw new HubError(
      'not-cached',
      `${repo}: nothing to remove (no quantized copy, no Hugging Face snapshot)`,
    );
  return 0;
}
