/**
 * Which files of a repository a pull fetches, from its file names alone (the hub's listing, or a snapshot's
 * files when resolving from the cache). Only what the engine needs: a repository that holds both layouts gives
 * the Mistral one (params.json + consolidated.safetensors + tekken.json), never both.
 */
import type { FileChoice } from './model-ref.js';
import { HubError } from './hub-errors.js';
import { isProjectorFile, quantsOf, textFilesOfQuant } from '../checkpoint/gguf/quant-names.js';

export type RepoLayout = 'consolidated' | 'hf' | 'gguf' | 'file';

export interface Selection {
  readonly layout: RepoLayout;
  readonly files: readonly string[];
}

const MISTRAL_REQUIRED = ['params.json', 'consolidated.safetensors'];
const MISTRAL_OPTIONAL = ['tekken.json'];
const HF_SIDE_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'preprocessor_config.json',
  'processor_config.json',
  'generation_config.json',
  'chat_template.json',
];

export function selectFiles(repo: string, names: readonly string[], choice: FileChoice): Selection {
  const present = new Set(names);
  if (choice.kind === 'file') {
    if (!present.has(choice.name)) throw missing(repo, `no file "${choice.name}"`, names);
    return { layout: 'file', files: [choice.name] };
  }
  if (choice.kind === 'quant') return selectGguf(repo, names, choice.quant);
  if (MISTRAL_REQUIRED.every((f) => present.has(f)))
    return {
      layout: 'consolidated',
      files: [...MISTRAL_REQUIRED, ...MISTRAL_OPTIONAL.filter((f) => present.has(f))],
    };
  if (present.has('config.json')) {
    const weights = names.filter((n) => !n.includes('/') && /^model.*\.safetensors$/.test(n));
    const index = present.has('model.safetensors.index.json') ? ['model.safetensors.index.json'] : [];
    if (weights.length > 0)
      return {
        layout: 'hf',
        files: ['config.json', ...index, ...weights.sort(), ...HF_SIDE_FILES.filter((f) => present.has(f))],
      };
  }
  const quants = quantsOf(names);
  if (quants.length > 0)
    throw missing(
      repo,
      `holds GGUF files: name a quantization (${quants.map((q) => `${repo}:${q}`).join(', ')})`,
    );
  throw missing(
    repo,
    'has neither the Mistral layout (params.json + consolidated.safetensors) nor the Hugging Face one ' +
      '(config.json + model*.safetensors); fetch one file with ' +
      `${repo}:FILE`,
    names,
  );
}

/** `*Q4_K_M*.gguf` plus the repository's vision projector (`mmproj*.gguf`), which the model needs for images. */
function selectGguf(repo: string, names: readonly string[], quant: string): Selection {
  const weights = textFilesOfQuant(names, quant);
  if (weights.length === 0) {
    const quants = quantsOf(names);
    throw missing(
      repo,
      `no *${quant}*.gguf` + (quants.length ? ` (it has ${quants.join(', ')})` : ' (it has no GGUF files)'),
    );
  }
  const projector = names.filter((n) => n.toLowerCase().endsWith('.gguf') && isProjectorFile(n)).sort();
  return { layout: 'gguf', files: [...weights, ...projector.slice(0, 1)] };
}

function missing(repo: string, what: string, names?: readonly string[]): HubError {
  const list = names && names.length <= 12 ? ` (files: ${names.join(', ')})` : '';
  return new HubError('entry-not-found', `${repo} ${what}${list}`);
}
