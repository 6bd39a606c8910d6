/**
 * The internal tensor inventory: Mistral consolidated names (spec §2.1) with the shapes a config implies.
 * Every loader maps its file's names onto these, so model code only ever sees one naming and one RoPE layout.
 */
import type { PixtralConfig } from './config.js';

export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** For q/k projections: heads in the output rows, needed to undo the HF rotate-half permutation. */
  readonly ropeHeads?: number;
}

export function expectedTensors(config: PixtralConfig): ExpectedTensor[] {
  const { text: t, vision: v } = config;
  const list: ExpectedTensor[] = [{ name: 'tok_embeddings.weight', shape: [t.vocabSize, t.dim] }];
  for (let i = 0; i < t.nLayers; i++) {
    const p = `layers.${i}`;
    list.push(
      { name: `${p}.attention_norm.weight`, shape: [t.dim] },
      { name: `${p}.attention.wq.weight`, shape: [t.nHeads * t.headDim, t.dim], ropeHeads: t.nHeads },
      { name: `${p}.attention.wk.weight`, shape: [t.nKvHeads * t.headDim, t.dim], ropeHeads: t.nKvHeads },
      { name: `${p}.attention.wv.weight`, shape: [t.nKvHeads * t.headDim, t.dim] },
      { name: `${p}.attention.wo.weight`, shape: [t.dim, t.nHeads * t.headDim] },
      { name: `${p}.ffn_norm.weight`, shape: [t.dim] },
      { name: `${p}.feed_forward.w1.weight`, shape: [t.hiddenDim, t.dim] },
      { name: `${p}.feed_forward.w2.weight`, shape: [t.dim, t.hiddenDim] },
      { name: `${p}.feed_forward.w3.weight`, shape: [t.hiddenDim, t.dim] },
    );
  }
  list.push({ name: 'norm.weight', shape: [t.dim] }, { name: 'output.weight', shape: [t.vocabSize, t.dim] });
  if (!v) return list;

  const h = v.hiddenSize;
  list.push(
    { name: 'vision_encoder.patch_conv.weight', shape: [h, v.numChannels, v.patchSize, v.patchSize] },
    { name: 'vision_encoder.ln_pre.weight', shape: [h] },
  );
  for (let j = 0; j < v.nLayers; j++) {
    const p = `vision_encoder.transformer.layers.${j}`;
    list.push(
      { name: `${p}.attention_norm.weight`, shape: [h] },
      { name: `${p}.attention.wq.weight`, shape: [v.nHeads * v.headDim, h], ropeHeads: v.nHeads },
      { name: `${p}.attention.wk.weight`, shape: [v.nHeads * v.headDim, h], ropeHeads: v.nHeads },
      { name: `${p}.attention.wv.weight`, shape: [v.nHeads * v.headDim, h] },
      { name: `${p}.attention.wo.weight`, shape: [h, v.nHeads * v.headDim] },
      { name: `${p}.ffn_norm.weight`, shape: [h] },
      { name: `${p}.feed_forward.w1.weight`, shape: [v.intermediateSize, h] },
      { name: `${p}.feed_forward.w2.weight`, shape: [h, v.intermediateSize] },
      { name: `${p}.feed_forward.w3.weight`, shape: [v.intermediateSize, h] },
    );
  }
  list.push(
    { name: 'vision_language_adapter.w_in.weight', shape: [t.dim, h] },
    { name: 'vision_language_adapter.w_out.weight', shape: [t.dim, t.dim] },
  );
  if (v.adapterBias)
    list.push(
      { name: 'vision_language_adapter.w_in.bias', shape: [t.dim] },
      { name: 'vision_language_adapter.w_out.bias', shape: [t.dim] },
    );
  return list;
}
