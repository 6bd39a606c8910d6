export { Tokenizer, type SpecialTokenPolicy } from './tokenizer.js';
export { StreamDecoder } from './stream-decoder.js';
export { SpecialId } from './special-tokens.js';
export { loadTokenizer, bundledTokenizer } from './load.js';
export { TokenizerFileError, type TekkenVocab, type ImageTokenSettings } from './vocab.js';
