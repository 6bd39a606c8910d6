/**
 * A hub model already in the Hugging Face cache: the snapshot a revision points to, and whether it holds
 * every file the engine needs — whoever put it there (`pixtral pull`, huggingface-cli, transformers, vLLM).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RepoCache } from './cache-layout.js';
import { selectFiles, type Selection } from './file-selection.js';
import type { ModelRef } from './model-ref.js';

export interface CachedModel {
  readonly repo: string;
  readonly commit: string;
  readonly dir: string;
  readonly layout: Selection['layout'];
  readonly files: readonly string[];
}

/** The cached snapshot of `ref` at `revision` with all it needs, or null (not there, or only part of it). */
export function findCachedModel(cacheDir: string, ref: ModelRef, revision: string): CachedModel | null {
  const cache = new RepoCache(cacheDir, ref.repo);
  const commit = cache.commitOf(revision);
  if (commit === null) return null;
  const present = cache.snapshotFiles(commit).filter((f) => cache.cachedFile(commit, f) !== null);
  let selection: Selection;
  try {
    selection = selectFiles(ref.repo, present, ref.choice);
  } catch {
    return null;
  }
  const dir = cache.snapshotDir(commit);
  if (!hasWhatItNames(dir, selection)) return null;
  return { repo: ref.repo, commit, dir, layout: selection.layout, files: selection.files };
}

/**
 * Files a layout cannot run without although a partial pull may lack them: the Mistral layout's tokenizer,
 * the Hugging Face layout's tokenizer and every shard its index names.
 */
function hasWhatItNames(dir: string, selection: Selection): boolean {
  const has = (name: string) => existsSync(join(dir, name)) && statSync(join(dir, name)).isFile();
  if (selection.layout === 'consolidated') return has('tekken.json');
  if (selection.layout !== 'hf') return true;
  if (!has('tokenizer.json')) return false;
  if (!has('model.safetensors.index.json')) return true;
  try {
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    return Object.values(index.weight_map as Record<string, string>).every(has);
  } catch {
    return false;
  }
}

/** Bytes a snapshot takes on disk: its blobs, each counted once. */
export function snapshotBytes(cache: RepoCache, commit: string): number {
  const seen = new Set<string>();
  let bytes = 0;
  for (const file of cache.snapshotFiles(commit)) {
    const path = cache.blobOf(commit, file) ?? cache.snapshotFile(commit, file);
    if (seen.has(path) || !existsSync(path)) continue;
    seen.add(path);
    bytes += statSync(path).size;
  }
  return bytes;
}
