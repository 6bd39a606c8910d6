/**
 * One pre-norm transformer block — the same code serves the vision encoder and the decoder (as in
 * mistral-inference's transformer_layers.py):
 *
 *   h = x + Attention(RMSNorm(x))        q, k rotated by RoPE; how keys are gathered is the caller's business
 *   y = h + W2 · (SiLU(W1·n) ⊙ W3·n),    n = RMSNorm(h)
 */
import { type Backend, type RopeAngles, rowsOf, type Tensor, type Weight } from '../backend/types.js';
import type { Scratch } from './scratch.js';

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
  scratch?: Scratch,
): Tensor {
  // With scratch, every intermediate lands in a reused buffer; the result is the "x" buffer (the input is
  // read for the last time before it is written).
  const rows = rowsOf(x);
  const buffer = (name: string, width: number) => scratch?.take(name, rows, width);
  const out = (name: string, weight: Weight) => buffer(name, weight.shape[0]!);
  const dim = x.shape[x.shape.length - 1]!;

  const normed = backend.rmsNorm(x, w.attentionNorm, shape.normEps, buffer('normed', dim));
  const q = backend.rope(
    backend.matmul(normed, w.wq, undefined, out('q', w.wq)),
    shape.nHeads,
    angles,
    out('qRot', w.wq),
  );
  const k = backend.rope(
    backend.matmul(normed, w.wk, undefined, out('k', w.wk)),
    shape.nKvHeads,
    angles,
    out('kRot', w.wk),
  );
  const v = backend.matmul(normed, w.wv, undefined, out('v', w.wv));
  const h = backend.add(
    x,
    backend.matmul(attend(q, k, v), w.wo, undefined, out('o', w.wo)),
    buffer('h', dim),
  );

  // y = h + W2 · (SiLU(W1·n) ⊙ W3·n), n = RMSNorm(h)
  const n = backend.rmsNorm(h, w.ffnNorm, shape.normEps, buffer('normed', dim));
  const gate = backend.matmul(n, w.w1, undefined, out('gate', w.w1));
  const up = backend.matmul(n, w.w3, undefined, out('up', w.w3));
  const hidden = backend.siluMul(gate, up, out('hidden', w.w1));
  return backend.add(h, backend.matmul(hidden, w.w2, undefined, out('down', w.w2)), buffer('x', dim));
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
