/**
 * A model checkpoint opened from a folder of either layout, seen through one internal description:
 * Mistral tensor names, interleaved-pair RoPE rows, shapes checked against the config at open time.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { PixtralConfig } from './config.js';
import { openConsolidated } from './consolidated.js';
import { DTYPE_BYTES, type DType, toFloat32 } from './dtype.js';
import { CheckpointError } from './errors.js';
import { openHf } from './hf.js';
import { type ExpectedTensor, expectedTensors } from './inventory.js';
import type { ImageSettings, LayoutName, LoadedLayout, TensorSource } from './layout.js';
import { resolveModelDir } from './model-dir.js';
import { hfRowsToInterleaved } from './rope-permutation.js';

export interface RawTensor {
  readonly name: string;
  readonly dtype: DType;
  /** The logical shape (for a quantized tensor too: [rows, cols], not its byte layout). */
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  /** Set when `data` holds q8/q4 row blocks (dtype U8) made by `pixtral quantize`. */
  readonly quant?: 'q8' | 'q4';
  /** Set when `data` holds GGUF blocks of this type as stored (dtype U8): the native kernels run them as they are. */
  readonly ggml?: GgmlBlockType;
}

/**
 * The GGUF block types the engine runs without dequantizing: Q8_0 / Q4_0 hold the numbers of our q8 / q4 rows
 * (rearranged exactly), the K-quants run as stored.
 */
export type GgmlBlockType = 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q5_K' | 'Q6_K';

interface Entry {
  readonly expected: ExpectedTensor;
  readonly source: TensorSource;
  readonly dtype: DType;
}

export class Checkpoint {
  readonly layout: LayoutName;
  readonly dir: string;
  readonly config: PixtralConfig;
  readonly configFile: string;
  readonly tokenizerFile: string;
  readonly image: ImageSettings | null;
  private readonly loaded: LoadedLayout;
  private readonly entries: ReadonlyMap<string, Entry>;

  private constructor(dir: string, loaded: LoadedLayout, entries: Map<string, Entry>) {
    this.dir = dir;
    this.loaded = loaded;
    this.layout = loaded.layout;
    this.config = loaded.config;
    this.configFile = loaded.configFile;
    this.tokenizerFile = loaded.tokenizerFile;
    this.image = loaded.image;
    this.entries = entries;
  }

  /** Opens a model folder, detecting its layout; every expected tensor must be present with its shape. */
  static open(dir: string): Checkpoint {
    const full = resolveModelDir(dir);
    const loaded = openLayout(full);
    try {
      return new Checkpoint(full, loaded, checkInventory(loaded));
    } catch (err) {
      for (const file of loaded.files) file.close();
      throw err;
    }
  }

  /** Internal tensor names in inventory order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  info(name: string): { dtype: DType; shape: readonly number[]; file: string } {
    const entry = this.entry(name);
    return { dtype: entry.dtype, shape: entry.expected.shape, file: entry.source.file.path };
  }

  /** Raw bytes in the stored dtype, with q/k rows already in interleaved-pair order. */
  readRaw(name: string): RawTensor {
    const { expected, source, dtype } = this.entry(name);
    let data = source.file.read(source.nameInFile);
    if (source.rotateHalfHeads) data = hfRowsToInterleaved(data, expected.shape[0]!, source.rotateHalfHeads);
    return { name, dtype, shape: expected.shape, data };
  }

  readF32(name: string): Float32Array {
    const raw = this.readRaw(name);
    return toFloat32(raw.data, raw.dtype);
  }

  parameterCount(): number {
    let total = 0;
    for (const { expected } of this.entries.values()) total += expected.shape.reduce((a, b) => a * b, 1);
    return total;
  }

  /** Bytes of all weights as stored. */
  weightBytes(): number {
    let total = 0;
    for (const { expected, dtype } of this.entries.values())
      total += expected.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    return total;
  }

  dtypes(): DType[] {
    return [...new Set([...this.entries.values()].map((e) => e.dtype))];
  }

  close(): void {
    for (const file of this.loaded.files) file.close();
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (!entry) throw new CheckpointError(this.dir, 'no such tensor in this model', name);
    return entry;
  }
}

export function detectLayout(dir: string): LayoutName {
  if (existsSync(join(dir, 'params.json')) && existsSync(join(dir, 'consolidated.safetensors')))
    return 'consolidated';
  if (existsSync(join(dir, 'config.json'))) return 'hf';
  if (existsSync(join(dir, 'params.json'))) return 'consolidated';
  throw new CheckpointError(
    dir,
    'not a Pixtral model folder: expected params.json + consolidated.safetensors (Mistral) or config.json + *.safetensors (Hugging Face)',
  );
}

function openLayout(dir: string): LoadedLayout {
  return detectLayout(dir) === 'consolidated' ? openConsolidated(dir) : openHf(dir);
}

function checkInventory(loaded: LoadedLayout): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  for (const expected of expectedTensors(loaded.config)) {
    const source = loaded.locate(expected.name, expected.ropeHeads);
    if (!source) {
      const where = loaded.files.map((f) => f.path).join(', ');
      throw new CheckpointError(where, 'missing from the checkpoint', expected.name);
    }
    const info = source.file.info(source.nameInFile);
    if (!sameShape(info.shape, expected.shape))
      throw new CheckpointError(
        source.file.path,
        `has shape [${info.shape}] but the config (${loaded.configFile}) implies [${expected.shape}]`,
        source.nameInFile,
      );
    entries.set(expected.name, { expected, source, dtype: info.dtype });
  }
  return entries;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
