/**
 * `pixtral quantize`: reads a checkpoint tensor by tensor, stores each the way the backend would hold it
 * (matmul weights as q8/q4 blocks, the rest as they are) and streams them into one quantized file — the
 * model is never in memory whole. Which tensors become blocks, and the block arithmetic, belong to the
 * backend: it comes in as a {@link TensorQuantizer}, so this module stays free of native code.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { RawTensor } from './checkpoint.js';
import { DTYPE_BYTES, type DType } from './dtype.js';
import type { ImageSettings } from './layout.js';
import {
  encodeQuantizedMetadata,
  type Quant,
  QUANTIZED_FILE,
  type QuantizedTensorMeta,
  quantizedRowBytes,
} from './quantized.js';
import { writeSafetensorsStreamed } from './safetensors-writer.js';
import type { WeightSource } from './weight-source.js';

/** q8/q4 blocks hold this many values of a row; a row of another width cannot be cut into blocks. */
export const QUANT_BLOCK = 32;

/**
 * What becomes of a tensor: q8/q4 `blocks`; `unaligned`, a matmul weight left in full precision because its
 * input width is not a multiple of {@link QUANT_BLOCK}; or `kept` as it is by design (1-D, embeddings…).
 */
export type TensorFate = 'blocks' | 'unaligned' | 'kept';

export interface TensorQuantizer {
  readonly quant: Quant;
  fate(tensor: {
    readonly name: string;
    readonly shape: readonly number[];
    readonly dtype: DType;
  }): TensorFate;
  /** The q8/q4 row blocks of a tensor whose fate is `blocks`. */
  quantize(raw: RawTensor): Uint8Array;
}

export interface QuantizeJob {
  readonly source: WeightSource;
  readonly tokenizerFile: string;
  readonly image: ImageSettings | null;
  readonly outDir: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface QuantizeReport {
  readonly file: string;
  /** Size of the tensors written. */
  readonly bytes: number;
  /** Tensors stored as blocks, with their size before and after. */
  readonly quantized: { readonly count: number; readonly fromBytes: number; readonly toBytes: number };
  /** Matmul weights left in full precision because their input width is not a multiple of the block. */
  readonly unaligned: readonly { readonly name: string; readonly width: number }[];
  readonly total: number;
}

/** Nothing in the model can be quantized: writing a "quantized" copy would only pretend. */
export class QuantizeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuantizeError';
  }
}

export function quantizeCheckpoint(quantizer: TensorQuantizer, job: QuantizeJob): QuantizeReport {
  const { source } = job;
  const { quant } = quantizer;
  // What each tensor becomes is decided from its name and shape alone, so the header can be written first.
  const plan = source.names().map((name) => {
    const probe = source.info(name);
    const fate = quantizer.fate({ name, ...probe });
    const rows = probe.shape[0]!;
    const cols = probe.shape.slice(1).reduce((a, b) => a * b, 1);
    const fullBytes = rows * cols * DTYPE_BYTES[probe.dtype];
    return {
      name,
      fate,
      cols,
      fullBytes,
      shape: probe.shape,
      quant: fate === 'blocks' ? quant : null,
      dtype: fate === 'blocks' ? 'U8' : probe.dtype,
      byteLength: fate === 'blocks' ? rows * quantizedRowBytes(quant, cols) : fullBytes,
    };
  });
  const blocks = plan.filter((p) => p.fate === 'blocks');
  const unaligned = plan.filter((p) => p.fate === 'unaligned').map((p) => ({ name: p.name, width: p.cols }));
  if (blocks.length === 0) throw new QuantizeError(nothingToQuantize(quant, unaligned));

  // Float tensors first (f32, then 16-bit), blocks last: every float tensor stays aligned for a zero-copy view
  // of the mapped file; the header is padded to 8 bytes and float tensors have even lengths.
  const order = (p: (typeof plan)[number]) => (p.dtype === 'F32' ? 0 : p.dtype === 'U8' ? 2 : 1);
  plan.sort((a, b) => order(a) - order(b));
  mkdirSync(job.outDir, { recursive: true });
  const tokenizer = basename(job.tokenizerFile);
  copyFileSync(job.tokenizerFile, join(job.outDir, tokenizer));
  const tensors: Record<string, QuantizedTensorMeta> = {};
  for (const p of plan) tensors[p.name] = { shape: p.shape, quant: p.quant };
  const file = join(job.outDir, QUANTIZED_FILE);
  writeSafetensorsStreamed(
    file,
    plan.map((p) => ({
      name: p.name,
      dtype: p.dtype,
      shape: p.quant ? [p.byteLength] : p.shape,
      byteLength: p.byteLength,
    })),
    (i) => {
      const raw = source.readRaw(plan[i]!.name);
      const data = plan[i]!.quant ? quantizer.quantize(raw) : raw.data;
      job.onProgress?.(i + 1, plan.length);
      return data;
    },
    encodeQuantizedMetadata({
      quantization: quant,
      config: source.config,
      image: job.image,
      tokenizer,
      tensors,
    }),
  );
  const sum = (list: typeof plan, key: 'fullBytes' | 'byteLength') => list.reduce((n, p) => n + p[key], 0);
  return {
    file,
    bytes: sum(plan, 'byteLength'),
    quantized: {
      count: blocks.length,
      fromBytes: sum(blocks, 'fullBytes'),
      toBytes: sum(blocks, 'byteLength'),
    },
    unaligned,
    total: plan.length,
  };
}

function nothingToQuantize(quant: Quant, unaligned: QuantizeReport['unaligned']): string {
  if (unaligned.length === 0)
    return `nothing to quantize to ${quant}: the model has no matmul weights the backend stores as blocks`;
  return (
    `nothing to quantize to ${quant}: no matmul weight has an input width that is a multiple of ` +
    `${QUANT_BLOCK} (${listTensors(unaligned)})`
  );
}

/** "a (width 20), b (width 20), c (width 40) and 9 more": a few names, not a screenful. */
export function listTensors(list: QuantizeReport['unaligned'], shown = 3): string {
  const names = list.slice(0, shown).map((t) => `${t.name} (width ${t.width})`);
  return list.length > shown ? `${names.join(', ')} and ${list.length - shown} more` : names.join(', ');
}
