/**
 * `pixtral quantize`: reads a checkpoint tensor by tensor, stores each the way the native backend would hold
 * it (matmul weights as q8/q4 blocks, the rest as they are) and streams them into one quantized file — the
 * model is never in memory whole.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DTYPE_BYTES, type ImageSettings, type WeightSource } from '../../checkpoint/index.js';
import {
  encodeQuantizedMetadata,
  type Quant,
  QUANTIZED_FILE,
  type QuantizedTensorMeta,
  quantizedRowBytes,
} from '../../checkpoint/quantized.js';
import { writeSafetensorsStreamed } from '../../checkpoint/safetensors-writer.js';
import type { NativeAddon } from './addon.js';
import { NativeBackend } from './native-backend.js';
import { NativeWeight } from './native-weight.js';

export interface QuantizeJob {
  readonly source: WeightSource;
  readonly tokenizerFile: string;
  readonly image: ImageSettings | null;
  readonly quant: Quant;
  readonly outDir: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export function quantizeCheckpoint(addon: NativeAddon, job: QuantizeJob): { file: string; bytes: number } {
  const { source, quant } = job;
  const backend = new NativeBackend(addon, { quant });
  const names = source.names();
  // What each tensor becomes is decided from its name and shape alone, so the header can be written first.
  const plan = names.map((name) => {
    const probe = source.info(name);
    const quantized = backend.quantizes({ name, ...probe });
    const rows = probe.shape[0]!;
    const cols = probe.shape.slice(1).reduce((a, b) => a * b, 1);
    return {
      name,
      shape: probe.shape,
      quant: quantized ? quant : null,
      dtype: quantized ? 'U8' : probe.dtype,
      byteLength: quantized ? rows * quantizedRowBytes(quant, cols) : rows * cols * DTYPE_BYTES[probe.dtype],
    };
  });
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
      const data = plan[i]!.quant ? (NativeWeight.quantized(raw, quant, addon).data as Uint8Array) : raw.data;
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
  return { file, bytes: plan.reduce((n, p) => n + p.byteLength, 0) };
}
