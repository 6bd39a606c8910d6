/**
 * Reader for the Hugging Face `tokenizer.json` of `mistral-community/pixtral-12b`: a byte-level BPE whose
 * vocabulary is Tekken's (id = rank + 1000, control tokens as added tokens 0..999). We rebuild the rank list
 * from the vocabulary and encode with the same tiktoken-style merges, so both files give the same ids.
 * (HF's own added-token matching would turn typed "[INST]" into a control id; we deliberately do not.)
 */
import { byteLevelBytes } from './byte-level.js';
import { isObject } from './tekken-file.js';
import { readTokenizerJson } from './json-file.js';
import { type TekkenVocab, TokenizerFileError } from './vocab.js';

export function loadHfTokenizerFile(file: string): TekkenVocab {
  const json = readTokenizerJson(file);
  if (!isObject(json) || !isObject(json.model)) throw new TokenizerFileError(file, 'missing "model" object');
  const model = json.model;
  if (model.type !== 'BPE' || !isObject(model.vocab))
    throw new TokenizerFileError(file, 'model must be a BPE model with a vocab map');

  const added = Array.isArray(json.added_tokens) ? json.added_tokens : [];
  const specialNames: string[] = [];
  for (const token of added) {
    if (isObject(token) && Number.isInteger(token.id) && typeof token.content === 'string')
      specialNames[token.id as number] = token.content;
  }
  const numSpecial = specialNames.length;
  if (numSpecial === 0) throw new TokenizerFileError(file, 'no added (control) tokens found');
  for (let id = 0; id < numSpecial; id++) specialNames[id] ??= `<SPECIAL_${id}>`;

  const rankBytes: Uint8Array[] = [];
  for (const [piece, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number' || id < numSpecial) continue;
    const bytes = byteLevelBytes(piece);
    if (!bytes) throw new TokenizerFileError(file, `vocab entry ${id} is not byte-level encoded`);
    rankBytes[id - numSpecial] = bytes;
  }
  for (let rank = 0; rank < rankBytes.length; rank++)
    if (!rankBytes[rank])
      throw new TokenizerFileError(file, `vocab has no token with id ${rank + numSpecial}`);

  return {
    rankBytes,
    pattern: findSplitPattern(json.pre_tokenizer, file),
    numSpecial,
    specialNames,
    image: null,
    source: file,
  };
}

/** The `Split` regex of the pre-tokenizer (possibly inside a `Sequence`). */
function findSplitPattern(pre: unknown, file: string): string {
  const stack: unknown[] = [pre];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!isObject(node)) continue;
    if (node.type === 'Split' && isObject(node.pattern) && typeof node.pattern.Regex === 'string')
      return node.pattern.Regex;
    if (Array.isArray(node.pretokenizers)) stack.push(...node.pretokenizers);
  }
  throw new TokenizerFileError(file, 'pre_tokenizer has no Split regex');
}
