/**
 * `pixtral list [--json]`: the models in the Hugging Face cache and in our store of quantized copies — name,
 * revision, layout, quantized copies and size on disk.
 */
import { cachedRepos } from '../../hub/cache-layout.js';
import { findCachedModel, snapshotBytes } from '../../hub/cached-model.js';
import { hubCacheDir, pixtralModelsDir } from '../../hub/hub-settings.js';
import { QuantizedStore } from '../../hub/quantized-store.js';
import { parseCommandArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { shortBytes } from '../transfer-progress.js';

interface Row {
  name: string;
  revision: string;
  commit: string;
  layout: string;
  quantized: string[];
  bytes: number;
  path: string;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
  const store = new QuantizedStore(pixtralModelsDir());
  const copies = store.copies();
  const rows: Row[] = [];
  for (const cache of cachedRepos(hubCacheDir())) {
    const refs = Object.entries(cache.refs());
    for (const commit of cache.snapshots()) {
      const names = refs.filter(([, c]) => c === commit).map(([r]) => r);
      const model = findCachedModel(
        cache.cacheDir,
        { repo: cache.repoId, choice: { kind: 'engine' } },
        commit,
      );
      const mine = copies.filter((c) => c.repo === cache.repoId && c.commit === commit);
      rows.push({
        name: cache.repoId,
        revision: names.join(',') || commit.slice(0, 12),
        commit,
        layout: model?.layout ?? 'incomplete',
        quantized: mine.map((c) => c.quant),
        bytes: snapshotBytes(cache, commit) + mine.reduce((n, c) => n + c.bytes, 0),
        path: cache.snapshotDir(commit),
      });
    }
  }
  // Copies whose source snapshot was removed from the HF cache still take space: list them too.
  for (const copy of copies)
    if (!rows.some((r) => r.name === copy.repo && r.commit === copy.commit))
      rows.push({
        name: copy.repo,
        revision: copy.commit.slice(0, 12),
        commit: copy.commit,
        layout: 'quantized only',
        quantized: [copy.quant],
        bytes: copy.bytes,
        path: copy.dir,
      });
  if (values.json) {
    io.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    io.out(`no models yet (Hugging Face cache: ${hubCacheDir()}); get one with: pixtral pull pixtral-12b`);
    return 0;
  }
  const table = [
    ['NAME', 'REVISION', 'LAYOUT', 'QUANTIZED', 'SIZE'],
    ...rows.map((r) => [r.name, r.revision, r.layout, r.quantized.join(',') || '-', shortBytes(r.bytes)]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table)
    io.out(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}
