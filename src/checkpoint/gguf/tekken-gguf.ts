/**
 * The Tekken vocabulary inside a GGUF, written and read the way llama.cpp's converter does it for Mistral models
 * (`conversion/base.py` `_set_vocab_mistral`, gguf-py `MistralVocab`): tokenizer model `gpt2`, pre-tokenizer
 * `tekken`, the control tokens first (type CONTROL), then every BPE rank spelled in GPT-2's byte-level alphabet
 * (type NORMAL), and merges recovered from the ranks. So token id = rank + number of control tokens, the same
 * ids `tekken.json` gives, and a GGUF folder needs no tokenizer file beside it.
 */
import { byteLevelBytes, byteLevelString } from '../../tokenizer/byte-level.js';
import { type TekkenVocab, TokenizerFileError } from '../../tokenizer/vocab.js';
import { type GgufEntry, type GgufFile, GgufValueType } from './gguf-file.js';
import { gguf } from './gguf-writer.js';

/** Tekken's pre-tokenisation pattern (tekken.json `config.pattern`), which a GGUF names only as pre "tekken". */
export const TEKKEN_PATTERN =
  '[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+';

/** llama.cpp's token types (`llama_token_type`). */
const TokenType = { NORMAL: 1, CONTROL: 3 } as const;

const SPECIAL = { unk: 0, bos: 1, eos: 2, pad: 11 } as const;

/** The `tokenizer.ggml.*` entries of a text GGUF for this vocabulary. */
export function tekkenGgufEntries(vocab: TekkenVocab): [string, GgufEntry][] {
  const tokens = [...vocab.specialNames, ...vocab.rankBytes.map(byteLevelString)];
  const types = tokens.map((_, id) => (id < vocab.numSpecial ? TokenType.CONTROL : TokenType.NORMAL));
  return [
    ['tokenizer.ggml.model', gguf.string('gpt2')],
    ['tokenizer.ggml.pre', gguf.string('tekken')],
    ['tokenizer.ggml.tokens', gguf.strings(tokens)],
    ['tokenizer.ggml.scores', gguf.array(GgufValueType.FLOAT32, new Array<number>(tokens.length).fill(0))],
    ['tokenizer.ggml.token_type', gguf.array(GgufValueType.INT32, types)],
    ['tokenizer.ggml.merges', gguf.strings(tekkenMerges(vocab.rankBytes))],
    ['tokenizer.ggml.bos_token_id', gguf.u32(SPECIAL.bos)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(SPECIAL.eos)],
    ['tokenizer.ggml.unknown_token_id', gguf.u32(SPECIAL.unk)],
    ['tokenizer.ggml.padding_token_id', gguf.u32(SPECIAL.pad)],
    ['tokenizer.ggml.add_bos_token', gguf.bool(true)],
    ['tokenizer.ggml.add_eos_token', gguf.bool(false)],
  ];
}

/**
 * BPE merges from tiktoken-style ranks, as the converter derives them: for every token past the 256 single
 * bytes, each split into two pieces that are both tokens, ordered by the merged token's rank and then by the
 * pieces' ranks.
 */
export function tekkenMerges(rankBytes: readonly Uint8Array[]): string[] {
  const key = (bytes: Uint8Array) => String.fromCharCode(...bytes);
  const rankOf = new Map<string, number>();
  rankBytes.forEach((bytes, rank) => rankOf.set(key(bytes), rank));
  const merges: string[] = [];
  for (let rank = 256; rank < rankBytes.length; rank++) {
    const token = rankBytes[rank]!;
    const splits: { left: number; right: number; at: number }[] = [];
    for (let at = 1; at < token.length; at++) {
      const left = rankOf.get(key(token.subarray(0, at)));
      const right = rankOf.get(key(token.subarray(at)));
      if (left !== undefined && right !== undefined) splits.push({ left, right, at });
    }
    splits.sort((a, b) => a.left - b.left || a.right - b.right);
    for (const { at } of splits)
      merges.push(`${byteLevelString(token.subarray(0, at))} ${byteLevelString(token.subarray(at))}`);
  }
  return merges;
}

/** The vocabulary a text GGUF carries; a clear error when it has none or one this engine cannot run. */
export function tekkenFromGguf(file: GgufFile): TekkenVocab {
  const fail = (problem: string) => new TokenizerFileError(file.path, problem);
  const model = file.metadata.get('tokenizer.ggml.model')?.value;
  const pre = file.metadata.get('tokenizer.ggml.pre')?.value;
  if (model === undefined)
    throw fail('has no vocabulary (tokenizer.ggml.model); put the tekken.json beside it');
  // "tekken": converted from Mistral's tekken.json; "pixtral": from the Hugging Face tokenizer.json of
  // mistral-community/pixtral-12b (where the public Pixtral GGUFs come from). The same ids either way, and
  // mistral-common pre-tokenizes both with Tekken's pattern.
  if (model !== 'gpt2' || (pre !== 'tekken' && pre !== 'pixtral'))
    throw fail(
      `vocabulary ${String(model)}/${String(pre)} is not supported (Pixtral's is gpt2 with tekken or pixtral)`,
    );
  const tokens = file.metadata.get('tokenizer.ggml.tokens');
  const types = file.metadata.get('tokenizer.ggml.token_type');
  if (tokens?.type !== GgufValueType.ARRAY || tokens.elementType !== GgufValueType.STRING)
    throw fail('tokenizer.ggml.tokens is missing or not a list of strings');
  if (types?.type !== GgufValueType.ARRAY || types.value.length !== tokens.value.length)
    throw fail('tokenizer.ggml.token_type is missing or not one per token');
  let numSpecial = 0;
  while (numSpecial < types.value.length && Number(types.value[numSpecial]) === TokenType.CONTROL)
    numSpecial++;
  if (numSpecial === 0) throw fail('the vocabulary has no control tokens in front');
  const specialNames = (tokens.value.slice(0, numSpecial) as string[]).map(String);
  const rankBytes = tokens.value.slice(numSpecial).map((piece, i) => {
    const bytes = byteLevelBytes(String(piece));
    if (!bytes) throw fail(`token ${numSpecial + i} is not spelled in the byte-level alphabet`);
    return bytes;
  });
  return { rankBytes, pattern: TEKKEN_PATTERN, numSpecial, specialNames, image: null, source: file.path };
}
