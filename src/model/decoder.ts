/**
 * The multimodal decoder (spec §7): token embeddings, with adapter outputs written at the [IMG] positions,
 * through causal pre-norm blocks with 1-D RoPE and a KV cache, then the final norm and the untied lm head.
 */
import type { Backend, Tensor, Weight } from '../backend/types.js';
import type { TextConfig } from '../checkpoint/index.js';
import { type BlockShape, type BlockWeights, loadBlockWeights, transformerBlock } from './block.js';
import type { KvCache } from './kv-cache.js';
import { RopeTable, ropeFrequencies } from './rope.js';
import { Scratch } from './scratch.js';
import { concatRows, sliceRows, widthOf } from './rows.js';

export interface DecoderWeights {
  readonly tokEmbeddings: Weight;
  readonly blocks: readonly BlockWeights[];
  readonly norm: Weight;
  readonly output: Weight;
}

export function loadDecoderWeights(load: (name: string) => Weight, config: TextConfig): DecoderWeights {
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < config.nLayers; i++) blocks.push(loadBlockWeights(load, `layers.${i}`));
  return {
    tokEmbeddings: load('tok_embeddings.weight'),
    blocks,
    norm: load('norm.weight'),
    output: load('output.weight'),
  };
}

export class Decoder {
  private readonly rope: RopeTable;
  private readonly shape: BlockShape;
  /** Activations reused by every forward pass (the hidden state returned is valid until the next one). */
  readonly scratch = new Scratch();

  constructor(
    private readonly backend: Backend,
    readonly config: TextConfig,
    private readonly weights: DecoderWeights,
    /** Positions the RoPE table may grow to (the model's context). */
    maxPositions = Number.MAX_SAFE_INTEGER,
  ) {
    this.rope = new RopeTable(ropeFrequencies(config.headDim, config.ropeTheta), maxPositions);
    this.shape = {
      nHeads: config.nHeads,
      nKvHeads: config.nKvHeads,
      headDim: config.headDim,
      normEps: config.normEps,
    };
  }

  /** Input embeddings of a chunk: token rows, with `imageRows` (in order) replacing each [IMG] token. */
  embed(ids: readonly number[], imageTokenId: number, imageRows?: Tensor): Tensor {
    const x = this.backend.embed(ids, this.weights.tokEmbeddings);
    const width = widthOf(x);
    let next = 0;
    for (let t = 0; t < ids.length; t++) {
      if (ids[t] !== imageTokenId) continue;
      if (!imageRows || next * width >= imageRows.data.length)
        throw new Error('more [IMG] tokens than image features');
      x.data.set(imageRows.data.subarray(next * width, (next + 1) * width), t * width);
      next++;
    }
    if (imageRows && next * width !== imageRows.data.length)
      throw new Error('fewer [IMG] tokens than image features');
    return x;
  }

  /**
   * Runs a chunk of positions cache.length .. cache.length + T − 1 through every layer, appending their keys
   * and values to the cache. Returns the hidden states [T, dim] after the last block (before the final norm),
   * in scratch space: valid until the next forward pass.
   */
  forward(x: Tensor, cache: KvCache): Tensor {
    const { backend, config, shape } = this;
    const start = cache.length;
    const count = x.shape[0]!;
    cache.reserve(count);
    const angles = this.rope.angles(start, count);
    this.weights.blocks.forEach((block, layer) => {
      const attend = (q: Tensor, k: Tensor, v: Tensor) => {
        cache.write(layer, k, v);
        const past = cache.view(layer, start + count);
        const shape = {
          nHeads: config.nHeads,
          nKvHeads: config.nKvHeads,
          headDim: config.headDim,
          scale: 1 / Math.sqrt(config.headDim),
          queryStart: start,
        };
        return backend.attention(
          q,
          past.k,
          past.v,
          shape,
          this.scratch.take('attention', count, q.shape[1]!),
        );
      };
      x = transformerBlock(backend, x, block, shape, angles, attend, this.scratch);
    });
    cache.advance(count);
    return x;
  }

  /**
   * One decoding step for several sequences at once (continuous batching): row i of `x` is the next position
   * of `caches[i]`. The projections and the feed-forward run on all rows together, so weights are read once
   * per step; only attention is per sequence, against that sequence's own cache.
   */
  forwardBatch(x: Tensor, caches: readonly KvCache[]): Tensor {
    const { backend, config, shape } = this;
    const starts = caches.map((cache) => cache.length);
    for (const cache of caches) cache.reserve(1);
    const angles = this.rope.rows(starts);
    this.weights.blocks.forEach((block, layer) => {
      const attend = (q: Tensor, k: Tensor, v: Tensor) =>
        concatRows(
          caches.map((cache, i) => {
            cache.write(layer, sliceRows(k, i, i + 1), sliceRows(v, i, i + 1));
            const past = cache.view(layer, starts[i]! + 1);
            return backend.attention(sliceRows(q, i, i + 1), past.k, past.v, {
              nHeads: config.nHeads,
              nKvHeads: config.nKvHeads,
              headDim: config.headDim,
              scale: 1 / Math.sqrt(config.headDim),
              queryStart: starts[i]!,
            });
          }),
        );
      x = transformerBlock(backend, x, block, shape, angles, attend, this.scratch);
    });
    for (const cache of caches) cache.advance(1);
    return x;
  }

  /** Float32 logits [rows, vocab] for every row of `hidden`. */
  logitsAll(hidden: Tensor): Tensor {
    return this.backend.matmul(
      this.backend.rmsNorm(hidden, this.weights.norm, this.config.normEps),
      this.weights.output,
    );
  }

  /** Float32 logits over the vocabulary for the last row of `hidden`. */
  logits(hidden: Tensor): Float32Array {
    const rows = hidden.shape[0]!;
    const last = sliceRows(hidden, rows - 1, rows);
    return this.backend.matmul(
      this.backend.rmsNorm(last, this.weights.norm, this.config.normEps),
      this.weights.output,
    ).data;
  }
}
