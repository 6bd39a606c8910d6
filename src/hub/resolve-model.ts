/**
 * What `--model` means, for every command, in one order: an existing path (folder or file) → `builtin:*` → the
 * demo model `pixtral-demo` → an alias → `org/name[:FILE_OR_QUANT]` in the Hugging Face cache. The answer is a
 * local location, so the engine stays path-based; what to do about a hub model not in the cache (pull it, ask, refuse) is the caller's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isGgufModel, resolveGgufQuant } from '../checkpoint/gguf/pixtral-gguf.js';
import { DEMO_MODEL, demoModelDir } from '../demo/embedded-model.js';
import { type CachedModel, findCachedModel } from './cached-model.js';
import { DEFAULT_REVISION } from './hub-settings.js';
import { aliasTarget, isRepoId, type ModelRef, parseModelRef } from './model-ref.js';

export interface ResolveOptions {
  readonly cacheDir: string;
  readonly revision?: string;
  /**
   * A hub model the cache lacks: fetch it and return the cached model, or throw. Called once; the cache is
   * looked at again only through what it returns.
   */
  readonly onMissing: (ref: ModelRef, revision: string) => Promise<CachedModel>;
}

export type ResolvedModel =
  | { readonly kind: 'path' | 'builtin'; readonly location: string }
  | { readonly kind: 'hub'; readonly location: string; readonly model: CachedModel };

export async function resolveModel(name: string, options: ResolveOptions): Promise<ResolvedModel> {
  if (existsSync(name)) return { kind: 'path', location: name };
  if (name.startsWith('builtin:')) return { kind: 'builtin', location: name };
  if (name === DEMO_MODEL) return { kind: 'builtin', location: demoModelDir() };
  // A local folder of several GGUF quantizations, one picked: `models/pixtral:Q4_K_M` → that file.
  if (isGgufModel(name)) return { kind: 'path', location: resolveGgufQuant(name) };
  if (!looksLikeHubName(name)) return { kind: 'path', location: name }; // a missing path: the loader says so
  const ref = parseModelRef(name);
  const revision = options.revision ?? DEFAULT_REVISION;
  const model = findCachedModel(options.cacheDir, ref, revision) ?? (await options.onMissing(ref, revision));
  // A GGUF quantization: its own text file (other quants of the repository may share the snapshot folder).
  const oneGguf = model.files.length > 0 && model.files[0]!.toLowerCase().endsWith('.gguf');
  const location = model.layout === 'gguf' || oneGguf ? join(model.dir, model.files[0]!) : model.dir;
  return { kind: 'hub', location, model };
}

/** An alias, or `org/name` with an optional `:FILE_OR_QUANT` — never a path (`./x/y`, `/abs`, `x/y/z`). */
function looksLikeHubName(name: string): boolean {
  const head = name.split(':')[0]!;
  return aliasTarget(head) !== null || isRepoId(head);
}
