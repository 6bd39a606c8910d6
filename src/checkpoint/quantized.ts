/**
 * Quantized checkpoints written by `pixtral quantize`: one safetensors file whose matmul weights are q8/q4 row
 * blocks (stored as U8) and whose other tensors keep their dtype, plus the model's tokenizer file. The metadata
 * carries the internal config, so loading needs no layout mapping; the file can be memory-mapped so weights
 * are paged in from the page cache and never copied.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RawTensor } from './checkpoint.js';
import type { PixtralConfig } from './config.js';
import type { DType } from './dtype.js';
import { CheckpointError } from './errors.js';
import { expectedTensors } from './inventory.js';
import type { ImageSettings } from './layout.js';
import { fileInside, resolveModelDir } from './model-dir.js';
import { SafetensorsFile } from './safetensors.js';
import type { WeightSource } from './weight-source.js';

export const QUANTIZED_FILE = 'pixtral-quantized.safetensors';
export const QUANTIZED_FORMAT = 'pixtral-quantized-v1';

export type Quant = 'q8' | 'q4';

/** Bytes of one quantized row of `cols` values (values, then one f16 scale per 32-value block). */
export function quantizedRowBytes(quant: Quant, cols: number): number {
  return (quant === 'q8' ? cols : cols / 2) + (cols / 32) * 2;
}

export interface QuantizedTensorMeta {
  /** Logical shape, [rows, …] as in the original checkpoint. */
  readonly shape: readonly number[];
  readonly quant: Quant | null;
}

export interface QuantizedMetadata {
  readonly quantization: Quant;
  readonly config: PixtralConfig;
  readonly image: ImageSettings | null;
  readonly tokenizer: string;
  readonly tensors: Record<string, QuantizedTensorMeta>;
}

export function encodeQuantizedMetadata(meta: QuantizedMetadata): Record<string, string> {
  return {
    format: QUANTIZED_FORMAT,
    quantization: meta.quantization,
    config: JSON.stringify(meta.config),
    image: JSON.stringify(meta.image),
    tokenizer: meta.tokenizer,
    tensors: JSON.stringify(meta.tensors),
  };
}

/** Maps a byte range of a file read-only into memory (the native addon's mmap). */
/**
 * Hands out a byte range of a file. `streamed`: a matrix every decode step reads whole (quantized rows), which a
 * loader may want in memory of its own; the rest (embedding table, norms) is read a little at a time.
 */
export type FileMapper = (path: string, offset: number, length: number, streamed: boolean) => Uint8Array;

export class QuantizedCheckpoint implements WeightSource {
  private constructor(
    readonly dir: string,
    private readonly file: SafetensorsFile,
    private readonly meta: QuantizedMetadata,
    private readonly map: FileMapper | undefined,
  ) {}

  static isQuantizedDir(dir: string): boolean {
    return existsSync(join(dir, QUANTIZED_FILE));
  }

  /** Opens and validates a quantized model folder; `map` (the native mmap) makes tensor reads zero-copy. */
  static open(dir: string, map?: FileMapper): QuantizedCheckpoint {
    const full = resolveModelDir(dir);
    const file = SafetensorsFile.open(join(full, QUANTIZED_FILE));
    try {
      const meta = readMetadata(file);
      checkTensors(file, meta);
      fileInside(full, meta.tokenizer, file.path);
      return new QuantizedCheckpoint(full, file, meta, map);
    } catch (err) {
      file.close();
      throw err;
    }
  }

  get config(): PixtralConfig {
    return this.meta.config;
  }

  get quantization(): Quant {
    return this.meta.quantization;
  }

  get image(): ImageSettings | null {
    return this.meta.image;
  }

  get tokenizerFile(): string {
    return fileInside(this.dir, this.meta.tokenizer, this.file.path);
  }

  get isMapped(): boolean {
    return this.map !== undefined;
  }

  names(): string[] {
    return expectedTensors(this.meta.config).map((t) => t.name);
  }

  info(name: string): { dtype: DType; shape: readonly number[] } {
    return { dtype: this.file.info(name).dtype, shape: this.meta.tensors[name]!.shape };
  }

  readRaw(name: string): RawTensor {
    const info = this.file.info(name);
    const meta = this.meta.tensors[name]!;
    const data = this.map
      ? this.map(
          this.file.path,
          info.offset,
          info.byteLength,
          meta.quant !== null && meta.quant !== undefined,
        )
      : this.file.read(name);
    return { name, dtype: info.dtype, shape: meta.shape, data, ...(meta.quant && { quant: meta.quant }) };
  }

  close(): void {
    // Mapped tensors stay valid: each mapping lives until its buffer is collected.
    this.file.close();
  }
}

function readMetadata(file: SafetensorsFile): QuantizedMetadata {
  const m = file.metadata;
  if (m.format !== QUANTIZED_FORMAT)
    throw new CheckpointError(file.path, `not a Pixtral quantized checkpoint (format "${m.format ?? ''}")`);
  if (m.quantization !== 'q8' && m.quantization !== 'q4')
    throw new CheckpointError(file.path, `unknown quantization "${m.quantization}"`);
  try {
    return {
      quantization: m.quantization,
      config: JSON.parse(m.config!) as PixtralConfig,
      image: JSON.parse(m.image ?? 'null') as ImageSettings | null,
      tokenizer: m.tokenizer ?? '',
      tensors: JSON.parse(m.tensors!) as Record<string, QuantizedTensorMeta>,
    };
  } catch (err) {
    throw new CheckpointError(file.path, `metadata is not valid (${(err as Error).message})`);
  }
}

function checkTensors(file: SafetensorsFile, meta: QuantizedMetadata): void {
  for (const expected of expectedTensors(meta.config)) {
    const tensor = meta.tensors[expected.name];
    if (!tensor || !file.tensors.has(expected.name))
      throw new CheckpointError(file.path, 'missing', expected.name);
    if (tensor.shape.join(',') !== expected.shape.join(','))
      throw new CheckpointError(
        file.path,
        `shape [${tensor.shape}] ≠ expected [${expected.shape}]`,
        expected.name,
      );
    const info = file.info(expected.name);
    if (tensor.quant) {
      const rows = tensor.shape[0]!;
      const cols = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
      if (info.dtype !== 'U8' || info.byteLength !== rows * quantizedRowBytes(tensor.quant, cols))
        throw new CheckpointError(
          file.path,
          `not a valid ${tensor.quant} tensor of shape [${tensor.shape}]`,
          expected.name,
        );
    }
  }
}
