/**
 * Writing any WeightSource as llama.cpp's pair of GGUF files — `model-<TYPE>.gguf` (`llama` keys and the Tekken
 * vocabulary) and `mmproj-<TYPE>.gguf` (`clip` keys, projector `pixtral`) — keeping the source precision by default
 * (BF16 stays BF16, GGUF blocks stay as they are: a round trip is exact) or converting the matrices to one type.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { CLIP_MEAN, CLIP_STD } from '../../image/normalize.js';
import { loadVocabulary } from '../../tokenizer/load.js';
import type { TekkenVocab } from '../../tokenizer/vocab.js';
import type { GgmlBlockType, RawTensor } from '../checkpoint.js';
import type { PixtralConfig } from '../config.js';
import { type DType, toFloat32 } from '../dtype.js';
import type { WeightSource } from '../weight-source.js';
import { dequantize, quantize } from './ggml-blocks.js';
import { type GgmlType, ggmlTypeByName } from './ggml-types.js';
import { type GgufEntry, GgufValueType } from './gguf-file.js';
import { gguf, type GgufTensorToWrite, writeGguf } from './gguf-writer.js';
import { TOKENIZER_FILE } from './pixtral-gguf.js';
import { type GgufPart, ggufName, IMG_BREAK_TENSOR } from './pixtral-names.js';
import { tekkenGgufEntries } from './tekken-gguf.js';

/** The types `export --gguf --type` offers (besides keeping the source precision). */
export const EXPORT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

function textMetadata(config: PixtralConfig, name: string, vocab: TekkenVocab): [string, GgufEntry][] {
  const t = config.text;
  if (vocab.numSpecial + vocab.rankBytes.length !== t.vocabSize)
    throw new Error(
      `${vocab.source}: ${vocab.numSpecial + vocab.rankBytes.length} tokens but the model has vocab_size ${t.vocabSize}`,
    );
  return [
    ['general.architecture', gguf.string('llama')],
    ['general.name', gguf.string(name)],
    ['llama.vocab_size', gguf.u32(t.vocabSize)],
    ['llama.context_length', gguf.u32(config.maxContext)],
    ['llama.embedding_length', gguf.u32(t.dim)],
    ['llama.block_count', gguf.u32(t.nLayers)],
    ['llama.feed_forward_length', gguf.u32(t.hiddenDim)],
    ['llama.attention.head_count', gguf.u32(t.nHeads)],
    ['llama.attention.head_count_kv', gguf.u32(t.nKvHeads)],
    ['llama.attention.key_length', gguf.u32(t.headDim)],
    ['llama.attention.value_length', gguf.u32(t.headDim)],
    ['llama.rope.dimension_count', gguf.u32(t.headDim)],
    ['llama.rope.freq_base', gguf.f32(t.ropeTheta)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(t.normEps)],
    ...tekkenGgufEntries(vocab),
  ];
}

function mmprojMetadata(config: PixtralConfig, name: string): [string, GgufEntry][] {
  const v = config.vision!;
  return [
    ['general.architecture', gguf.string('clip')],
    ['general.name', gguf.string(name)],
    ['clip.has_vision_encoder', gguf.bool(true)],
    ['clip.projector_type', gguf.string('pixtral')],
    ['clip.use_silu', gguf.bool(true)],
    ['clip.vision.image_size', gguf.u32(v.imageSize)],
    ['clip.vision.patch_size', gguf.u32(v.patchSize)],
    ['clip.vision.embedding_length', gguf.u32(v.hiddenSize)],
    ['clip.vision.feed_forward_length', gguf.u32(v.intermediateSize)],
    ['clip.vision.projection_dim', gguf.u32(config.text.dim)],
    ['clip.vision.block_count', gguf.u32(v.nLayers)],
    ['clip.vision.attention.head_count', gguf.u32(v.nHeads)],
    ['clip.vision.attention.layer_norm_epsilon', gguf.f32(1e-5)],
    ['clip.vision.image_mean', gguf.array(GgufValueType.FLOAT32, [...CLIP_MEAN])],
    ['clip.vision.image_std', gguf.array(GgufValueType.FLOAT32, [...CLIP_STD])],
    ['clip.rope.freq_base', gguf.f32(v.ropeTheta)],
    ['pixtral.image_token_id', gguf.u32(v.imageTokenId)],
    ['pixtral.image_break_token_id', gguf.u32(v.imageBreakTokenId)],
    ['pixtral.image_end_token_id', gguf.u32(v.imageEndTokenId)],
  ];
}

/** The GGUF type a tensor is written as: the source's own float type, or `type` for matrices. */
function typeFor(
  raw: { dtype: DType; shape: readonly number[]; ggml?: GgmlBlockType },
  type: ExportType | undefined,
): GgmlType {
  if (raw.dtype === 'U8' && !raw.ggml)
    throw new Error('export from a pixtral-quantized checkpoint is not supported');
  const source = raw.ggml ?? raw.dtype;
  if (!type) return ggmlTypeByName(source)!;
  // As llama.cpp writes them: vectors in F32, the patch convolution in F16, matrices in the asked type (when
  // their rows are whole blocks of it).
  if (raw.shape.length === 1) return ggmlTypeByName('F32')!;
  if (raw.shape.length > 2) return ggmlTypeByName('F16')!;
  const wanted = ggmlTypeByName(type)!;
  return raw.shape[1]! % wanted.blockValues === 0 ? wanted : ggmlTypeByName('F16')!;
}

function toType(raw: RawTensor, type: GgmlType): Uint8Array {
  if ((raw.ggml ?? raw.dtype) === type.name) return raw.data;
  const count = raw.shape.reduce((a, b) => a * b, 1);
  return quantize(
    type,
    raw.ggml ? dequantize(ggmlTypeByName(raw.ggml)!, raw.data, count) : toFloat32(raw.data, raw.dtype),
  );
}

export interface GgufExportOptions {
  /** Matrix type of both files (default: the source precision). */
  readonly type?: ExportType;
  /** Matrix type of the mmproj alone, when it should differ (llama.cpp's mmproj files are usually F16). */
  readonly mmprojType?: ExportType;
  readonly name?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

/**
 * Writes `source` as `model-<TYPE>.gguf` and (with a vision encoder) `mmproj-<TYPE>.gguf` in `outDir`, with its
 * tokenizer file; returns the paths written.
 */
export function exportGguf(
  source: WeightSource,
  tokenizerFile: string,
  outDir: string,
  options: GgufExportOptions = {},
): string[] {
  mkdirSync(outDir, { recursive: true });
  const name = options.name ?? 'pixtral';
  const parts: Record<GgufPart, GgufTensorToWrite[]> = { text: [], mmproj: [] };
  const names = source.names();
  const embeddings = source.info('tok_embeddings.weight');
  const sourceType = embeddings.ggml ?? embeddings.dtype;
  const partType = (part: GgufPart) =>
    part === 'mmproj' ? (options.mmprojType ?? options.type) : options.type;
  const label = (part: GgufPart) => (partType(part) ?? sourceType).toUpperCase();
  let done = 0;
  // Tensors are read and converted as they are written: one in memory at a time.
  const convert = (internal: string, type: GgmlType) => () => {
    const data = toType(source.readRaw(internal), type);
    options.onProgress?.(++done, names.length);
    return data;
  };
  for (const internal of names) {
    const where = ggufName(internal);
    if (!where) throw new Error(`${internal}: no GGUF name for this tensor`);
    const info = source.info(internal);
    const type = typeFor(info, partType(where.part));
    parts[where.part].push({
      name: where.name,
      dims: [...info.shape].reverse(),
      type,
      data: convert(internal, type),
    });
  }
  const vision = source.config.vision;
  if (vision) {
    // llama.cpp's mmproj carries the [IMG_BREAK] embedding row for its image layout.
    const width = source.config.text.dim;
    const f32 = ggmlTypeByName('F32')!;
    parts.mmproj.push({
      name: IMG_BREAK_TENSOR,
      dims: [width],
      type: f32,
      data: () => {
        const raw = source.readRaw('tok_embeddings.weight');
        const rows = toFloat32(raw.data, raw.dtype);
        return quantize(
          f32,
          rows.slice(vision.imageBreakTokenId * width, (vision.imageBreakTokenId + 1) * width),
        );
      },
    });
  }
  const written: string[] = [];
  const textPath = join(outDir, `model-${label('text')}.gguf`);
  writeGguf(textPath, textMetadata(source.config, name, loadVocabulary(tokenizerFile)), parts.text);
  written.push(textPath);
  if (source.config.vision) {
    const mmprojPath = join(outDir, `mmproj-${label('mmproj')}.gguf`);
    writeGguf(mmprojPath, mmprojMetadata(source.config, name), parts.mmproj);
    written.push(mmprojPath);
  }
  // The text file carries the vocabulary; Mistral's own tekken.json goes beside it when there is one (it wins on
  // load). Other tokenizer files are not copied: they would be read as something they are not.
  if (basename(tokenizerFile) === TOKENIZER_FILE) {
    copyFileSync(tokenizerFile, join(outDir, TOKENIZER_FILE));
    written.push(join(outDir, TOKENIZER_FILE));
  }
  return written;
}
