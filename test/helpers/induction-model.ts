/**
 * A two-layer decoder whose weights are set by hand so that it returns the token that followed a marker
 * (an induction head, written out): layer 0 is a previous-token head, layer 1 copies the token whose previous
 * token was the marker. Nothing is learned; every weight is placed so the math below holds, at any distance.
 *
 * Residual stream (dim 256):  0..63 the token's own id (one-hot) · 64 a constant · 65 "is the marker" ·
 * 66 "is not the marker" · 67 "the previous token was the marker" (written by layer 0) · 128..191 the copied id
 * (written by layer 1). Every embedding has exactly three ones, so RMSNorm scales all tokens alike.
 *
 * Layer 0 uses the 8 fastest RoPE pairs: q = a constant, k = the constant turned by one step of each pair, so
 * q·k at distance d is A·Σᵢ cos(θᵢ(d−1)) — largest at d = 1 (the previous token) by a margin computed below.
 * Layer 1 uses the 6 slowest pairs, which barely turn over 100K positions: its score is content only
 * ("the previous token was the marker"), so the last position finds that token however far back it is.
 */
import type { RawTensor } from '../../src/checkpoint/checkpoint.js';
import type { PixtralConfig } from '../../src/checkpoint/config.js';
import type { WeightSource } from '../../src/checkpoint/weight-source.js';
import { ropeFrequencies } from '../../src/model/rope.js';

export const VOCAB = 64;
export const MARKER = 60;
const DIM = 256;
const HEAD_DIM = 64;
const HIDDEN = 64;
const ROPE_THETA = 1e9;
const FAST_PAIRS = 8;
const SLOW_PAIRS = [26, 27, 28, 29, 30, 31];
const CONST = 64;
const IS_MARKER = 65;
const NOT_MARKER = 66;
const FLAG = 67;
const COPY = 128;
/** Per-pair score scale of layer 0 and the layer-1 q·k product (see the margins in the test). */
const PREV_SCALE = 80;
const COPY_SCALE = 1.5;
/** RMSNorm of three ones in 256 dims: each becomes 16/√3. */
const NORMED_ONE = 16 / Math.sqrt(3);

export const INDUCTION_CONFIG: PixtralConfig = {
  text: {
    dim: DIM,
    nLayers: 2,
    headDim: HEAD_DIM,
    hiddenDim: HIDDEN,
    nHeads: 1,
    nKvHeads: 1,
    ropeTheta: ROPE_THETA,
    normEps: 1e-5,
    vocabSize: VOCAB,
  },
  vision: null,
  maxContext: 131072,
};

/** Layer 0's score at distance d (query position − key position), as the weights set it. */
export function previousTokenScore(d: number): number {
  const freqs = ropeFrequencies(HEAD_DIM, ROPE_THETA);
  let s = 0;
  for (let i = 0; i < FAST_PAIRS; i++) s += PREV_SCALE * Math.cos(freqs[i]! * (d - 1));
  return s;
}

export class InductionWeights implements WeightSource {
  readonly config = INDUCTION_CONFIG;
  private readonly tensors = new Map<string, { shape: number[]; data: Float32Array }>();

  constructor() {
    const freqs = ropeFrequencies(HEAD_DIM, ROPE_THETA);
    const matrix = (
      name: string,
      rows: number,
      cols: number,
      fill: (set: (r: number, c: number, v: number) => void) => void,
    ) => {
      const data = new Float32Array(rows * cols);
      fill((r, c, v) => (data[r * cols + c] = v));
      this.tensors.set(name, { shape: [rows, cols], data });
    };
    const ones = (name: string) =>
      this.tensors.set(name, { shape: [DIM], data: new Float32Array(DIM).fill(1) });

    matrix('tok_embeddings.weight', VOCAB, DIM, (set) => {
      for (let t = 0; t < VOCAB; t++) {
        set(t, t, 1);
        set(t, CONST, 1);
        set(t, t === MARKER ? IS_MARKER : NOT_MARKER, 1);
      }
    });
    // Layer 0: the previous-token head. A = s²·aq·ak/√headDim per pair.
    const qk0 = Math.sqrt((PREV_SCALE * Math.sqrt(HEAD_DIM)) / NORMED_ONE ** 2);
    matrix('layers.0.attention.wq.weight', HEAD_DIM, DIM, (set) => {
      for (let i = 0; i < FAST_PAIRS; i++) set(2 * i, CONST, qk0);
    });
    matrix('layers.0.attention.wk.weight', HEAD_DIM, DIM, (set) => {
      for (let i = 0; i < FAST_PAIRS; i++) {
        set(2 * i, CONST, qk0 * Math.cos(freqs[i]!));
        set(2 * i + 1, CONST, qk0 * Math.sin(freqs[i]!));
      }
    });
    matrix('layers.0.attention.wv.weight', HEAD_DIM, DIM, (set) => set(0, IS_MARKER, 1));
    matrix('layers.0.attention.wo.weight', DIM, HEAD_DIM, (set) => set(FLAG, 0, 1 / NORMED_ONE));
    // Layer 1: content attention on the flag through the slow pairs; the value is the token's own id.
    const qk1 = Math.sqrt(COPY_SCALE);
    matrix('layers.1.attention.wq.weight', HEAD_DIM, DIM, (set) => {
      for (const i of SLOW_PAIRS) set(2 * i, CONST, qk1);
    });
    matrix('layers.1.attention.wk.weight', HEAD_DIM, DIM, (set) => {
      for (const i of SLOW_PAIRS) set(2 * i, FLAG, qk1);
    });
    matrix('layers.1.attention.wv.weight', HEAD_DIM, DIM, (set) => {
      for (let t = 0; t < VOCAB; t++) set(t, t, 1);
    });
    matrix('layers.1.attention.wo.weight', DIM, HEAD_DIM, (set) => {
      for (let t = 0; t < VOCAB; t++) set(COPY + t, t, 1);
    });
    for (const layer of [0, 1]) {
      ones(`layers.${layer}.attention_norm.weight`);
      ones(`layers.${layer}.ffn_norm.weight`);
      // No feed-forward: zero matrices add nothing to the residual.
      matrix(`layers.${layer}.feed_forward.w1.weight`, HIDDEN, DIM, () => {});
      matrix(`layers.${layer}.feed_forward.w3.weight`, HIDDEN, DIM, () => {});
      matrix(`layers.${layer}.feed_forward.w2.weight`, DIM, HIDDEN, () => {});
    }
    ones('norm.weight');
    // The head reads only the copied id.
    matrix('output.weight', VOCAB, DIM, (set) => {
      for (let t = 0; t < VOCAB; t++) set(t, COPY + t, 10);
    });
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): { dtype: 'F32'; shape: readonly number[] } {
    return { dtype: 'F32', shape: this.get(name).shape };
  }

  readRaw(name: string): RawTensor {
    const t = this.get(name);
    return { name, dtype: 'F32', shape: t.shape, data: new Uint8Array(t.data.buffer) };
  }

  private get(name: string) {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`induction model has no tensor ${name}`);
    return t;
  }
}
