/**
 * One pre-norm transformer block — the same code serves the vision encoder and the decoder (as in
 * mistral-inference's transformer_layers.py):
 *
 *   h = x + Attention(RMSNorm(x))        q, k rotated by RoPE; how keys are gathered is the caller's business
 *   y = h + W2 · (SiLU(W1·n) ⊙ W3·n),    n = RMSNorm(h)
 */
import type { Backend, RopeAngles, Tensor, Weight } from '../backend/types.js';

export interface BlockShape {
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headDim: number;
  readonly normEps: number;
}

export interface BlockWeights {
  readonly attentionNorm: Weight;
  readonly wq: Weight;
  readonly wk: Weight;
  readonly wv: Weight;
  readonly wo: Weight;
  readonly ffnNorm: Weight;
  readonly w1: Weight;
  readonly w2: Weight;
  readonly w3: Weight;
}

/**
 * Turns rotated queries and this block's new keys/values into attention output [T, nHeads·headDim]:
 * the decoder appends k/v to its cache and attends causally, the vision encoder attends within each image.
 */
export type Attend = (q: Tensor, k: Tensor, v: Tensor) => Tensor;

export function transformerBlock(
  backend: Backend,
  x: Tensor,
  w: BlockWeights,
  shape: BlockShape,
  angles: RopeAngles,
  attend: Attend,
): Tensor {
  const normed = backend.rmsNorm(x, w.attentionNorm, shape.normEps);
  const q = backend.rope(backend.matmul(normed, w.wq), shape.nHeads, angles);
  const k = backend.rope(backend.matmul(normed, w.wk), shape.nKvHeads, angles);
  const v = backend.matmul(normed, w.wv);
  const h = backend.add(x, backend.matmul(attend(q, k, v), w.wo));
  return backend.add(h, feedForward(backend, backend.rmsNorm(h, w.ffnNorm, shape.normEps), w));
}

function feedForward(backend: Backend, x: Tensor, w: BlockWeights): Tensor {
  return backend.matmul(backend.siluMul(backend.matmul(x, w.w1), backend.matmul(x, w.w3)), w.w2);
}

/** Loads a block's weights by the checkpoint's names under `prefix` (e.g. "layers.3"). */
export function loadBlockWeights(load: (name: string) => Weight, prefix: string): BlockWeights {
  return {
    attentionNorm: load(`${prefix}.attention_norm.weight`),
    wq: load(`${prefix}.attention.wq.weight`),
    wk: load(`${prefix}.attention.wk.weight`),
    wv: load(`${prefix}.attention.wv.weight`),
    wo: load(`${prefix}.attention.wo.weight`),
    ffnNorm: load(`${prefix}.ffn_norm.weight`),
    w1: load(`${prefix}.feed_forward.w1.weight`),
    w2: load(`${prefix}.feed_forward.w2.weight`),
    w3: load(`${prefix}.feed_forward.w3.weight`),
  };
}
