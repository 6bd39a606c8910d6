/**
 * The native backend: matmuls — nearly all of the work — run in the compiled kernels (runtime-dispatched
 * AVX-512 VNNI / AVX2 / portable, a thread per core) against bf16 weights in place or q8/q4 blocks; the other
 * operations are the reference backend's. Weights that the kernels do not take (1-D, embeddings, f16/f32 in
 * full precision) stay reference weights, so every model loads.
 */
import { QUANT_BLOCK, type TensorFate } from '../../checkpoint/quantize-checkpoint.js';
import { ReferenceBackend } from '../reference/reference-backend.js';
import type { ReferenceWeight } from '../reference/weights.js';
import {
  type AttentionShape,
  type Backend,
  type RawWeight,
  type RopeAngles,
  output,
  rowsOf,
  type Tensor,
  tensor,
  type Weight,
} from '../types.js';
import type { KvTensor } from '../kv-format.js';
import type { NativeAddon } from './addon.js';
import { NativeWeight, type Quantization } from './native-weight.js';
import { streamedMemory } from './weight-memory.js';

export interface NativeBackendOptions {
  /** Weight storage of the decoder's matmuls: bf16 as stored, or 8-/4-bit blocks. */
  readonly quant?: Quantization;
  /** Keep the vision encoder's weights in bf16 even when the decoder is quantized (accuracy where it pays). */
  readonly visionBf16?: boolean;
  /**
   * Let bf16 weights meet activations rounded to bf16, and unmasked (vision) attention run on bf16 Q/K/V/P (the
   * AMX tile paths, several times faster on CPUs that have them). By default off in full precision so results
   * match the reference, and on once the model has quantized weights (`quant`, or a checkpoint written by
   * `pixtral quantize`), whose error is far larger.
   */
  readonly bf16Activations?: boolean;
}

const EMBEDDINGS = 'tok_embeddings.weight';
const EMPTY = new Float32Array(0);

export class NativeBackend implements Backend {
  readonly name: string;
  readonly quant: Quantization;
  private readonly reference = new ReferenceBackend();
  private readonly visionBf16: boolean;
  private readonly bf16ActivationsOption: boolean | undefined;
  private loadedPrequantized = false;
  private readonly normWeights = new WeakMap<ReferenceWeight, Float32Array>();

  constructor(
    private readonly addon: NativeAddon,
    options: NativeBackendOptions = {},
  ) {
    this.quant = options.quant ?? 'none';
    this.visionBf16 = options.visionBf16 ?? true;
    this.bf16ActivationsOption = options.bf16Activations;
    const { active, threads } = addon.features();
    this.name = `native (${active}, ${this.quant === 'none' ? 'bf16' : this.quant}, ${threads} threads)`;
  }

  private get bf16Activations(): boolean {
    return this.bf16ActivationsOption ?? (this.quant !== 'none' || this.loadedPrequantized);
  }

  /** Whether this backend stores a tensor as q8/q4 blocks (decided from its name and shape alone). */
  quantizes(raw: Pick<RawWeight, 'name' | 'shape' | 'dtype'>): boolean {
    return this.tensorFate(raw) === 'blocks';
  }

  /** Like `quantizes`, telling a weight kept by design from one whose rows cannot be cut into blocks. */
  tensorFate(raw: Pick<RawWeight, 'name' | 'shape' | 'dtype'>): TensorFate {
    if (this.quant === 'none' || raw.name === EMBEDDINGS || raw.shape.length < 2) return 'kept';
    if (this.visionBf16 && raw.name.startsWith('vision_encoder.')) return 'kept';
    return raw.shape.slice(1).reduce((a, b) => a * b, 1) % QUANT_BLOCK === 0 ? 'blocks' : 'unaligned';
  }

  weight(raw: RawWeight): Weight {
    if (raw.ggml && raw.name !== EMBEDDINGS && raw.shape.length >= 2) {
      this.loadedPrequantized = true;
      return NativeWeight.fromGgml(raw, this.addon);
    }
    if (raw.quant) {
      this.loadedPrequantized = true;
      return NativeWeight.prequantized(raw, this.addon);
    }
    if (this.quantizes(raw)) return NativeWeight.quantized(raw, this.quant as 'q8' | 'q4', this.addon);
    if (raw.name !== EMBEDDINGS && raw.shape.length >= 2 && (raw.dtype === 'BF16' || raw.dtype === 'F16'))
      return NativeWeight.halves(raw);
    return this.reference.weight(raw);
  }

  matmul(x: Tensor, w: Weight, bias?: Weight, into?: Tensor): Tensor {
    if (!(w instanceof NativeWeight))
      return this.reference.matmul(x, w as ReferenceWeight, bias as ReferenceWeight, into);
    const width = x.shape[x.shape.length - 1];
    if (width !== w.cols) throw new Error(`matmul: input width ${width} ≠ weight width ${w.cols}`);
    const tokens = rowsOf(x);
    const y = output([...x.shape.slice(0, -1), w.rows], into);
    this.addon.matmul(w.format, x.data, tokens, w.cols, w.data, w.rows, y.data, this.bf16Activations);
    if (bias) {
      const b = (bias as ReferenceWeight).toFloat32();
      for (let t = 0; t < tokens; t++) for (let o = 0; o < w.rows; o++) y.data[t * w.rows + o]! += b[o]!;
    }
    return y;
  }

  embed(ids: ArrayLike<number>, table: Weight): Tensor {
    return this.reference.embed(ids, table as ReferenceWeight);
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number, into?: Tensor): Tensor {
    const width = x.shape[x.shape.length - 1]!;
    const out = output(x.shape, into);
    this.addon.rmsNorm(x.data, this.floats(weight as ReferenceWeight), out.data, rowsOf(x), width, eps);
    return out;
  }

  rope(x: Tensor, heads: number, angles: RopeAngles, into?: Tensor): Tensor {
    const width = x.shape[x.shape.length - 1]!;
    const headDim = width / heads;
    if (headDim / 2 !== angles.pairs || rowsOf(x) !== angles.positions)
      return this.reference.rope(x, heads, angles, into); // the reference names the mismatch
    const out = output(x.shape, into);
    this.addon.rope(x.data, out.data, angles.positions, heads, headDim, angles.cos, angles.sin);
    return out;
  }

  attention(q: Tensor, k: KvTensor, v: KvTensor, shape: AttentionShape, into?: Tensor): Tensor {
    const queries = rowsOf(q);
    const out = output([queries, shape.nHeads * shape.headDim], into);
    const [kData, kScales, format, pagePositions] = kvArguments(k);
    const [vData, vScales] = kvArguments(v);
    this.addon.attention(
      q.data,
      kData,
      vData,
      out.data,
      queries,
      k.shape[0]!,
      shape.nHeads,
      shape.nKvHeads,
      shape.headDim,
      shape.scale,
      shape.queryStart ?? -1,
      format,
      kScales,
      vScales,
      this.bf16Activations,
      pagePositions,
    );
    return out;
  }

  siluMul(gate: Tensor, up: Tensor, into?: Tensor): Tensor {
    return this.binary('siluMul', gate, up, into);
  }

  gelu(x: Tensor): Tensor {
    const out = tensor(x.shape);
    this.addon.unary('gelu', x.data, out.data);
    return out;
  }

  add(a: Tensor, b: Tensor, into?: Tensor): Tensor {
    return this.binary('add', a, b, into);
  }

  toHalf(src: Float32Array, dst: Uint16Array, at: number): void {
    this.addon.toHalf(src, dst, at);
  }

  /**
   * A page index of a 12B cache (every layer's keys and values: 40 MB in f16) on 2 MB pages: in ordinary memory
   * every 4 KB of the stream costs a TLB miss and stops the hardware prefetcher (in the model at depth 4096 on a
   * 2-core Zen 5, 8 layers: a layer's decode attention 0.74–0.77 ms → 0.70–0.72).
   */
  kvPageMemory(bytes: number): Uint8Array {
    return streamedMemory(this.addon, bytes);
  }

  private binary(op: 'siluMul' | 'add', a: Tensor, b: Tensor, into?: Tensor): Tensor {
    if (a.data.length !== b.data.length)
      throw new Error(`${op}: shapes [${a.shape}] and [${b.shape}] differ`);
    const out = output(a.shape, into);
    this.addon.binary(op, a.data, b.data, out.data);
    return out;
  }

  /** Norm weights as float32, converted once. */
  private floats(weight: ReferenceWeight): Float32Array {
    let values = this.normWeights.get(weight);
    if (!values) this.normWeights.set(weight, (values = weight.toFloat32()));
    return values;
  }
}

const KV_FORMAT_CODE = { f32: 0, f16: 1, q8: 2 } as const;

/** A stored K or V as the addon takes it: data (or pages), q8 scales (or scale pages), format code, page size. */
function kvArguments(t: KvTensor) {
  if ('pages' in t) return [t.pages, t.pageScales, KV_FORMAT_CODE[t.format], t.pagePositions] as const;
  if (!('format' in t)) return [t.data, EMPTY, KV_FORMAT_CODE.f32, 0] as const;
  return [t.data, t.format === 'q8' ? t.scales : EMPTY, KV_FORMAT_CODE[t.format], 0] as const;
}
