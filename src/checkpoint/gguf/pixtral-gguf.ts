/**
 * A Pixtral model as GGUF files, the way llama.cpp's ecosystem ships it: a text model (`llama` architecture keys,
 * with its vocabulary) and an mmproj (`clip` keys, projector type `pixtral`) side by side in one folder.
 * `GgufCheckpoint` reads such a folder (or one quantization of several: `DIR:QUANT`) as a WeightSource: the block
 * types the native kernels run as stored, others dequantized to float32. gguf-export.ts writes the other way.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { GgmlBlockType, RawTensor } from '../checkpoint.js';
import type { FileMapper } from '../quantized.js';
import { DEFAULT_MAX_CONTEXT, type PixtralConfig, type VisionConfig } from '../config.js';
import type { DType } from '../dtype.js';
import { CheckpointError } from '../errors.js';
import type { ImageSettings } from '../layout.js';
import type { WeightSource } from '../weight-source.js';
import { dequantize } from './ggml-blocks.js';
import type { GgmlType } from './ggml-types.js';
import { type GgufFile, GgufError, type GgufTensorInfo, readGguf, tensorBytes } from './gguf-file.js';
import { GGUF_QUANT, quantsOf, textFilesOfQuant } from './quant-names.js';
import { type GgufPart, ggufName, internalName } from './pixtral-names.js';

export const TOKENIZER_FILE = 'tekken.json';

/**
 * A folder holding one text GGUF (and an `*mmproj*.gguf`), a text GGUF file itself, or `DIR:QUANT` — one of
 * several quantizations in a folder (`models/pixtral:Q4_K_M`).
 */
export function isGgufModel(location: string): boolean {
  location = splitMmproj(location).location;
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
  const { location: text, mmproj } = splitMmproj(location);
  const byQuant = existsSync(text) ? null : splitQuant(text);
  const resolved = byQuant ? ggufFileOfQuant(byQuant.dir, byQuant.quant) : text;
  return mmproj === null ? resolved : `${resolved}${MMPROJ_MARK}${mmproj}`;
}

const MMPROJ_MARK = '#mmproj=';

/**
 * A text GGUF (a file, a folder or `DIR:QUANT`) with its vision projector named explicitly — `--mmproj FILE`, for
 * an mmproj kept elsewhere. Models are opened by location everywhere (the engine worker included), so the pair
 * travels as one location string; this is the only place that writes it and `splitMmproj` the only one that reads
 * it. The named file wins over any mmproj beside the text model.
 */
export function withMmproj(location: string, mmproj: string): string {
  if (!existsSync(mmproj) || !statSync(mmproj).isFile())
    throw new CheckpointError(mmproj, 'no such mmproj file');
  if (!mmproj.toLowerCase().endsWith('.gguf'))
    throw new CheckpointError(mmproj, 'an mmproj must be a .gguf file');
  const text = splitMmproj(location).location;
  if (!isGgufModel(text))
    throw new CheckpointError(
      text,
      '--mmproj goes with a GGUF text model (a .gguf file or a folder of them)',
    );
  return `${text}${MMPROJ_MARK}${mmproj}`;
}

/** A location's text-model part and its explicitly named mmproj (null when the mmproj is looked for beside it). */
export function splitMmproj(location: string): { location: string; mmproj: string | null } {
  const at = location.lastIndexOf(MMPROJ_MARK);
  if (at < 0) return { location, mmproj: null };
  return { location: location.slice(0, at), mmproj: location.slice(at + MMPROJ_MARK.length) };
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
  const named = splitMmproj(resolveGgufQuant(location));
  location = named.location;
  const isFile = location.toLowerCase().endsWith('.gguf');
  const dir = isFile ? dirname(location) : location;
  const files = ggufFiles(dir);
  const mmprojs = named.mmproj !== null ? [] : files.filter((f) => /mmproj/i.test(f));
  const isNamedMmproj = (f: string) => named.mmproj !== null && resolve(dir, f) === resolve(named.mmproj);
  const texts = isFile ? [basename(location)] : files.filter((f) => !/mmproj/i.test(f) && !isNamedMmproj(f));
  if (texts.length === 0) throw new CheckpointError(dir, 'no text-model GGUF here (only an mmproj)');
  if (texts.length > 1) {
    const quants = quantsOf(texts);
    const how =
      quants.length > 1
        ? `pick one with ${dir}:${quants[0]} (${quants.join(', ')})`
        : 'name the file to load';
    throw new CheckpointError(dir, `several text-model GGUFs here (${texts.join(', ')}): ${how}`);
  }
  if (named.mmproj !== null) return { dir, text: join(dir, texts[0]!), mmproj: named.mmproj };
  if (mmprojs.length > 1)
    throw new CheckpointError(
      dir,
      `several mmproj GGUFs here (${mmprojs.join(', ')}): name one with --mmproj FILE`,
    );
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
    if (projector === undefined)
      throw new GgufError(
        mmproj.path,
        'is not an mmproj (no clip.projector_type): a vision projector file was expected',
      );
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
