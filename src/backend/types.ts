/**
 * The backend interface: the small set of tensor operations the Pixtral model needs. Model code is written
 * against this and never knows which backend runs it; the plain-TypeScript reference backend is the yardstick
 * every faster backend is tested against.
 *
 * Activations are float32 row-major tensors. Weights are backend-owned handles created from checkpoint bytes,
 * so a backend may keep them in bf16, repack or quantize them.
 */
import type { GgmlBlockType } from '../checkpoint/checkpoint.js';
import type { DType } from '../checkpoint/index.js';
import type { KvTensor } from './kv-format.js';

export interface Tensor {
  /** Row-major shape, e.g. [tokens, width]. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface Weight {
  readonly shape: readonly number[];
  readonly dtype: string;
}

export interface RawWeight {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
  /** Pre-quantized q8/q4 row blocks (a quantized checkpoint); only the native backend takes them. */
  readonly quant?: 'q8' | 'q4';
  /** GGUF blocks as stored: the native backend runs them (Q8_0 / Q4_0 rearranged exactly into its rows,
   * K-quants where they lie), the reference backend dequantizes them. */
  readonly ggml?: GgmlBlockType;
}

/** Per-position rotation angles: cos/sin of shape [positions, headDim/2], one pair per (x[2p], x[2p+1]). */
export interface RopeAngles {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  readonly positions: number;
  readonly pairs: number;
}

export interface AttentionShape {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  /** Softmax scale, 1/sqrt(headDim) for Pixtral. */
  readonly scale: number;
  /**
   * Causal masking: query row i sits at absolute position `queryStart + i` and sees keys 0..that position.
   * Undefined means no mask (every query sees every key, as inside one image in the vision encoder).
   */
  readonly queryStart?: number;
}

export interface Backend {
  readonly name: string;

  /** Takes a checkpoint tensor (interleaved-pair RoPE rows) and makes it usable by this backend. */
  weight(raw: RawWeight): Weight;

  // Ops that take `into` write their result there (scratch space the caller reuses from step to step, exactly
  // the result's size) instead of allocating; it must not alias an input.

  /** y = x · Wᵀ (+ b). x: [T, in], W: [out, in] → [T, out]. */
  matmul(x: Tensor, w: Weight, bias?: Weight, into?: Tensor): Tensor;

  /** Rows of an embedding table: [ids.length, width]. */
  embed(ids: ArrayLike<number>, table: Weight): Tensor;

  /** RMSNorm over the last dimension, computed in float32, then scaled by the weight. */
  rmsNorm(x: Tensor, weight: Weight, eps: number, into?: Tensor): Tensor;

  /** Rotates interleaved pairs of every head of x [T, heads·headDim] by the angles of its row. */
  rope(x: Tensor, heads: number, angles: RopeAngles, into?: Tensor): Tensor;

  /**
   * softmax(q·kᵀ·scale [+ causal mask])·v with grouped KV heads (query head h uses kv head floor(h·nKv/nHeads)).
   * q: [T, nHeads·headDim]; k, v: [S, nKvHeads·headDim] → [T, nHeads·headDim].
   */
  attention(q: Tensor, k: KvTensor, v: KvTensor, shape: AttentionShape, into?: Tensor): Tensor;

  /** SiLU(gate) ⊙ up, element-wise. */
  siluMul(gate: Tensor, up: Tensor, into?: Tensor): Tensor;

  /** Exact (erf) GELU, element-wise. */
  gelu(x: Tensor): Tensor;

  /** a + b, element-wise (same shapes). */
  add(a: Tensor, b: Tensor, into?: Tensor): Tensor;

  /** Stores src as IEEE halves (round to nearest even) at dst[at…]: the f16 KV cache's write. */
  toHalf(src: Float32Array, dst: Uint16Array, at: number): void;

  /** Zeroed memory for KV-cache pages (`KvStorage.pageMemory`; attention streams the pages every token). */
  kvPageMemory(bytes: number): Uint8Array;
}

export function tensor(shape: readonly number[], data?: Float32Array): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data && data.length !== size)
    throw new Error(`tensor data has ${data.length} values, shape [${shape}] needs ${size}`);
  return { shape, data: data ?? new Float32Array(size) };
}

/** An op's result: the caller's scratch `into` (checked to be exactly the size of `shape`), else a new tensor. */
export function output(shape: readonly number[], into?: Tensor): Tensor {
  if (!into) return tensor(shape);
  const size = shape.reduce((a, b) => a * b, 1);
  if (into.data.length !== size)
    throw new Error(`scratch of ${into.data.length} values for a result of shape [${shape}]`);
  return into.shape.length === shape.length && into.shape.every((n, i) => n === shape[i])
    ? into
    : { shape, data: into.data };
}

/** Number of rows when a tensor is viewed as [rows, lastDim]. */
export function rowsOf(t: Tensor): number {
  return t.data.length / t.shape[t.shape.length - 1]!;
}
