/**
 * What a user may type to name a hub model: `org/name`, `org/name:FILE`, `org/name:Q4_K_M`, or a short alias.
 * The aliases live here and nowhere else (the README lists them).
 */
import { GGUF_QUANT } from '../checkpoint/gguf/quant-names.js';
import { HubError } from './hub-errors.js';

/** Short names → hub repositories. */
export const MODEL_ALIASES: Readonly<Record<string, string>> = {
  // Mistral's release (Mistral layout; gated: accept the licence on the hub, then set HF_TOKEN).
  'pixtral-12b': 'mistralai/Pixtral-12B-2409',
  'pixtral-12b-2409': 'mistralai/Pixtral-12B-2409',
  // The same weights in the Hugging Face (transformers) layout, not gated.
  'pixtral-12b-hf': 'mistral-community/pixtral-12b',
};

/** Which files of a repository to fetch. */
export type FileChoice =
  | { readonly kind: 'engine' } // what the engine needs to run the model
  | { readonly kind: 'file'; readonly name: string } // one file
  | { readonly kind: 'quant'; readonly quant: string }; // a GGUF quantization (`Q4_K_M`) + the projector

export interface ModelRef {
  readonly repo: string;
  readonly choice: FileChoice;
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;

export function isRepoId(text: string): boolean {
  return REPO_ID.test(text);
}

/** An alias, or null. */
export function aliasTarget(name: string): string | null {
  return Object.hasOwn(MODEL_ALIASES, name.toLowerCase()) ? MODEL_ALIASES[name.toLowerCase()]! : null;
}

/** `REPO[:FILE_OR_QUANT]`, or an alias. A suffix that looks like a GGUF quantization is one; anything else a file. */
export function parseModelRef(text: string): ModelRef {
  const colon = text.indexOf(':');
  const head = colon < 0 ? text : text.slice(0, colon);
  const suffix = colon < 0 ? '' : text.slice(colon + 1);
  const repo = aliasTarget(head) ?? head;
  if (!isRepoId(repo))
    throw new HubError(
      'bad-name',
      `"${text}" is not a hub model: expected org/name[:FILE_OR_QUANT] or one of ${Object.keys(MODEL_ALIASES).join(', ')}`,
    );
  if (colon < 0) return { repo, choice: { kind: 'engine' } };
  if (suffix === '')
    throw new HubError('bad-name', `"${text}": nothing after ':' (a file name or a GGUF quantization)`);
  if (GGUF_QUANT.test(suffix) && !suffix.includes('.'))
    return { repo, choice: { kind: 'quant', quant: suffix } };
  return { repo, choice: { kind: 'file', name: suffix } };
}
