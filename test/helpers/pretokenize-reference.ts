/**
 * The Tekken pre-token splits that tiktoken's Rust regex engine makes, for generated strings covering every class
 * of the pattern (test/data/pretokenize-reference.json; how it was made: scripts/tokenizer-reference/README.md).
 */
import { readFileSync } from 'node:fs';

export interface ReferenceCase {
  readonly text: string;
  /** Pre-token pieces as Rust `fancy_regex::Regex::find_iter` returns them. */
  readonly pieces: readonly string[];
  /** Ids of those pieces with the bundled (real) Tekken vocabulary. */
  readonly ids: readonly number[];
}

export interface PretokenizeReference {
  readonly pattern: string;
  readonly cases: readonly ReferenceCase[];
}

export function loadPretokenizeReference(): PretokenizeReference {
  // Compiled to dist/test/helpers/, so the repo root is three levels up.
  const file = new URL('../../../test/data/pretokenize-reference.json', import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')) as PretokenizeReference;
}
