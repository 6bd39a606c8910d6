/**
 * A Pixtral model as GGUF files, the way llama.cpp's ecosystem ships it: a text model (`llama` architecture keys)
 * and an mmproj (`clip` keys, projector type `pixtral`) side by side in one folder, with the model's tekken.json.
 * `GgufCheckpoint` reads such a folder as a WeightSource (block formats dequantized to float32 as they load);
 * `exportGguf` writes any WeightSource as one — keeping the source precision by default, so a round trip is exact.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CLIP_MEAN, CLIP_STD } from '../../image/normalize.js';
import type { GgmlBlockType, RawTensor } from '../checkpoint.js';
import type { FileMapper } from '../quantized.js';
import { DEFAULT_MAX_CONTEXT, type PixtralConfig, type VisionConfig } from '../config.js';
import { type DType, toFloat32 } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import type { ImageSettings } from '../layout.js';
import type { WeightSource } from '../weight-source.js';
import { dequantize, quantize } from './ggml-blocks.js';
import { type GgmlType, ggmlTypeByName } from './ggml-types.js';
import {
  type GgufEntry,
  type GgufFile,
  GgufError,
  type GgufTensorInfo,
  GgufValueType,
  readGguf,
  tensorBytes,
} from './gguf-file.js';
import { gguf, type GgufTensorToWrite, writeGguf } from './gguf-writer.js';
import { tekkenGgufEntries } from './tekken-gguf.js';
import { GGUF_QUANT, quantsOf, textFilesOfQuant } from './quant-names.js';
import { loadVocabulary } from '../../tokenizer/load.js';
import type { TekkenVocab } from '../../tokenizer/vocab.js';
import { type GgufPart, ggufName, IMG_BREAK_TENSOR, internalName } from './pixtral-names.js';

const TOKENIZER_FILE = 'tekken.json';
/** The types `export --gguf --type` offers (besides keeping the source precision). */
export const EXPORT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/**
 * A folder holding one text GGUF (and an `*mmproj*.gguf`), a text GGUF file itself, or `DIR:QUANT` — one of
 * several quantizations in a folder (`models/pixtral:Q4_K_M`).
 */
export function isGgufModel(location: string): boolean {
  if (location.toLowerCase().endsWith('.gguf')) return existsSync(location);
  if (existsSync(location)) return statSync(location).isDirectory() && ggufFiles(location).length > 0;
  return splitQuant(location) !== null;
}

/** `DIR:QUANT` where DIR is an existing folder and QUANT a quantization name; null otherwise. */
function splitQuant(location: string): { dir: string; quant: string } | null {
  const colon = location.lastIndexOf(':');
  if (colon <= 0) return null;
  const dir = location.slice(0, colon);
  const quant = location.slice(colon + 1);
  if (!GGUF_QUANT.test(quant) || !existsSync(dir) || !statSync(dir).isDirectory()) return null;
  // Only a folder of GGUF files: `org/name:Q4_K_M` stays a hub name beside an unrelated `org/name` folder.
  if (ggufFiles(dir).length === 0) return null;
  return { dir, quant };
}

/** `DIR:QUANT` as the path of that text file; any other location unchanged. */
export function resolveGgufQuant(location: string): string {
  const byQuant = existsSync(location) ? null : splitQuant(location);
  return byQuant ? ggufFileOfQuant(byQuant.dir, byQuant.quant) : location;
}

/** The text GGUF of quantization `quant` in `dir` (its path), or an error naming the quants the folder has. */
export function ggufFileOfQuant(dir: string, quant: string): string {
  const names = ggufFiles(dir);
  const matching = textFilesOfQuant(names, quant);
  if (matching.length === 1) return join(dir, matching[0]!);
  const have = quantsOf(names);
  if (matching.length === 0)
    throw new CheckpointError(
      dir,
      `no ${quant} text-model GGUF here` + (have.length ? ` (it has ${have.join(', ')})` : ''),
    );
  throw new CheckpointError(
    dir,
    `several ${quant} text-model GGUFs here (${matching.join(', ')}): name the file`,
  );
}

function ggufFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.toLowerCase().endsWith('.gguf'));
}

/** The text and mmproj files of a location; several text files (quants) must be told apart by the caller. */
function locateParts(location: string): { text: string; mmproj: string | null; dir: string } {
  location = resolveGgufQuant(location);
  const isFile = location.toLowerCase().endsWith('.gguf');
  const dir = isFile ? dirname(location) : location;
  const files = ggufFiles(dir);
  const mmprojs = files.filter((f) => /mmproj/i.test(f));
  const texts = isFile ? [basename(location)] : files.filter((f) => !/mmproj/i.test(f));
  if (texts.length === 0) throw new CheckpointError(dir, 'no text-model GGUF here (only an mmproj)');
  if (texts.length > 1) {
    const quants = quantsOf(texts);
    const how =
      quants.length > 1
        ? `pick one with ${dir}:${quants[0]} (${quants.join(', ')})`
        : 'name the file to load';
    throw new CheckpointError(dir, `several text-model GGUFs here (${texts.join(', ')}): ${how}`);
  }
  if (mmprojs.length > 1)
    throw new CheckpointError(dir, `several mmproj GGUFs here (${mmprojs.join(', ')}): keep one per folder`);
  return { dir, text: join(dir, texts[0]!), mmproj: mmprojs[0] ? join(dir, mmprojs[0]) : null };
}

export class GgufCheckpoint implements WeightSource {
  private readonly tensors = new Map<string, { file: GgufFile; info: GgufTensorInfo }>();

  private constructor(
    readonly dir: string,
    readonly text: GgufFile,
    readonly mmproj: GgufFile | null,
    readonly config: PixtralConfig,
    readonly tokenizerFile: string,
    readonly image: ImageSettings | null,
    private readonly map?: FileMapper,
  ) {
    for (const [part, file] of [
      ['text', text],
      ['mmproj', mmproj],
    ] as [GgufPart, GgufFile | null][]) {
      for (const info of file?.tensors ?? []) {
        const name = internalName(part, info.name);
        if (name) this.tensors.set(name, { file: file!, info });
      }
    }
  }

  /** `map` hands out a tensor's bytes (mapped, or read into memory of the caller's choosing); else they are read. */
  static open(location: string, map?: FileMapper): GgufCheckpoint {
    const { dir, text, mmproj } = locateParts(location);
    const textFile = readGguf(text);
    const mmprojFile = mmproj ? readGguf(mmproj) : null;
    // A tekken.json beside the files wins (it is Mistral's own); otherwise the text GGUF's vocabulary is used.
    const besideFile = join(dir, TOKENIZER_FILE);
    const tokenizerFile = existsSync(besideFile) ? besideFile : text;
    if (tokenizerFile === text && !textFile.metadata.has('tokenizer.ggml.model'))
      throw new CheckpointError(
        text,
        `has no vocabulary (tokenizer.ggml.*) and there is no ${TOKENIZER_FILE} beside it`,
      );
    const config = configFromGguf(textFile, mmprojFile);
    const image = config.vision
      ? { patchSize: config.vision.patchSize, maxImageSize: config.vision.imageSize }
      : null;
    const checkpoint = new GgufCheckpoint(dir, textFile, mmprojFile, config, tokenizerFile, image, map);
    checkpoint.checkComplete();
    return checkpoint;
  }

  private checkComplete(): void {
    const { nLayers } = this.config.text;
    const needed = [
      'tok_embeddings.weight',
      'norm.weight',
      'output.weight',
      `layers.${nLayers - 1}.ffn_norm.weight`,
    ];
    if (this.config.vision)
      needed.push('vision_encoder.patch_conv.weight', 'vision_language_adapter.w_out.weight');
    for (const name of needed)
      if (!this.tensors.has(name)) {
        const where = ggufName(name)!;
        throw new CheckpointError(
          where.part === 'text' ? this.text.path : (this.mmproj?.path ?? this.dir),
          `tensor ${where.name} is missing`,
        );
      }
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): { dtype: DType; shape: readonly number[]; ggml?: GgmlBlockType } {
    const { info } = this.entry(name);
    const shape = [...info.dims].reverse();
    const ggml = runsAsStored(info.type);
    if (ggml) return { dtype: 'U8', shape, ggml };
    return { dtype: storedDtype(info.type) ?? 'F32', shape };
  }

  /** Float tensors, and the block types the native kernels run, as stored; other block types dequantized. */
  readRaw(name: string): RawTensor {
    const { file, info } = this.entry(name);
    const shape = [...info.dims].reverse();
    // Every decoder and vision matrix is streamed by each step; the embedding table is read a row at a time, and
    // Q8_0 / Q4_0 blocks are rearranged by the native backend into memory of its own (no need to copy them first).
    const streamed =
      shape.length === 2 &&
      name !== 'tok_embeddings.weight' &&
      info.type.name !== 'Q8_0' &&
      info.type.name !== 'Q4_0';
    const bytes = tensorBytes(file, info, this.map, streamed);
    const dtype = storedDtype(info.type);
    if (dtype) return { name, dtype, shape, data: bytes };
    const ggml = runsAsStored(info.type);
    if (ggml) return { name, dtype: 'U8', shape, data: bytes, ggml };
    const values = dequantize(
      info.type,
      bytes,
      shape.reduce((a, b) => a * b, 1),
    );
    return { name, dtype: 'F32', shape, data: new Uint8Array(values.buffer) };
  }

  close(): void {}

  private entry(name: string) {
    const entry = this.tensors.get(name);
    if (!entry) throw new CheckpointError(this.dir, `no tensor ${name} in the GGUF files`);
    return entry;
  }
}

const RUN_AS_STORED: readonly string[] = ['Q8_0', 'Q4_0', 'Q4_K', 'Q5_K', 'Q6_K'];

/** Block types whose numbers the native kernels hold as they are (rearranged or in place, never re-quantized). */
function runsAsStored(type: GgmlType): GgmlBlockType | null {
  return RUN_AS_STORED.includes(type.name) ? (type.name as GgmlBlockType) : null;
}

function storedDtype(type: GgmlType): DType | null {
  return type.name === 'F32' || type.name === 'F16' || type.name === 'BF16' ? type.name : null;
}

/** The model description from the two files' metadata (llama.cpp's keys). */
export function configFromGguf(text: GgufFile, mmproj: GgufFile | null): PixtralConfig {
  const get = (file: GgufFile, key: string, fallback?: number): number => {
    const value = file.metadata.get(key)?.value;
    if (value === undefined) {
      if (fallback !== undefined) return fallback;
      throw new GgufError(file.path, `metadata ${key} is missing`);
    }
    return Number(value);
  };
  const arch = text.metadata.get('general.architecture')?.value;
  if (arch !== 'llama')
    throw new GgufError(text.path, `architecture ${String(arch)} is not Pixtral's text model (llama)`);
  const dim = get(text, 'llama.embedding_length');
  const nHeads = get(text, 'llama.attention.head_count');
  const vocab = text.metadata.get('tokenizer.ggml.tokens')?.value;
  let vision: VisionConfig | null = null;
  if (mmproj) {
    const projector = mmproj.metadata.get('clip.projector_type')?.value;
    if (projector !== 'pixtral')
      throw new GgufError(mmproj.path, `projector type ${String(projector)} is not pixtral`);
    const hidden = get(mmproj, 'clip.vision.embedding_length');
    const heads = get(mmproj, 'clip.vision.attention.head_count');
    vision = {
      hiddenSize: hidden,
      numChannels: 3,
      imageSize: get(mmproj, 'clip.vision.image_size'),
      patchSize: get(mmproj, 'clip.vision.patch_size'),
      ropeTheta: get(mmproj, 'clip.rope.freq_base', 10000),
      intermediateSize: get(mmproj, 'clip.vision.feed_forward_length'),
      nLayers: get(mmproj, 'clip.vision.block_count'),
      nHeads: heads,
      headDim: hidden / heads,
      imageTokenId: get(mmproj, 'pixtral.image_token_id', 10),
      imageBreakTokenId: get(mmproj, 'pixtral.image_break_token_id', 12),
      imageEndTokenId: get(mmproj, 'pixtral.image_end_token_id', 13),
      adapterBias: mmproj.tensors.some((t) => t.name === 'mm.1.bias'),
    };
  }
  return {
    text: {
      dim,
      nLayers: get(text, 'llama.block_count'),
      headDim: get(text, 'llama.attention.key_length', dim / nHeads),
      hiddenDim: get(text, 'llama.feed_forward_length'),
      nHeads,
      nKvHeads: get(text, 'llama.attention.head_count_kv', nHeads),
      ropeTheta: get(text, 'llama.rope.freq_base', 1e6),
      normEps: get(text, 'llama.attention.layer_norm_rms_epsilon', 1e-5),
      vocabSize: get(text, 'llama.vocab_size', Array.isArray(vocab) ? vocab.length : NaN),
    },
    vision,
    maxContext: Math.min(get(text, 'llama.context_length', DEFAULT_MAX_CONTEXT), DEFAULT_MAX_CONTEXT),
  };
}

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
