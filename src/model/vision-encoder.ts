/**
 * Pixtral-ViT (spec §5): patch convolution → ln_pre → transformer blocks with 2-D RoPE and attention confined
 * to each image → one feature vector per patch. No CLS token, no position embedding, no final norm.
 */
import type { Backend, Tensor, Weight } from '../backend/types.js';
import { tensor } from '../backend/types.js';
import type { VisionConfig } from '../checkpoint/index.js';
import { type BlockShape, type BlockWeights, loadBlockWeights, transformerBlock } from './block.js';
import { concatAngles, rope2d, ropeFrequencies } from './rope.js';
import { sliceRows, concatRows } from './rows.js';

/** A preprocessed image: normalised CHW pixels and its patch grid. */
export interface ImageInput {
  readonly pixels: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

export interface VisionWeights {
  readonly patchConv: Weight;
  readonly lnPre: Weight;
  readonly blocks: readonly BlockWeights[];
}

export function loadVisionWeights(load: (name: string) => Weight, config: VisionConfig): VisionWeights {
  const blocks: BlockWeights[] = [];
  for (let j = 0; j < config.nLayers; j++)
    blocks.push(loadBlockWeights(load, `vision_encoder.transformer.layers.${j}`));
  return {
    patchConv: load('vision_encoder.patch_conv.weight'),
    lnPre: load('vision_encoder.ln_pre.weight'),
    blocks,
  };
}

export class VisionEncoder {
  private readonly freqs: Float32Array;
  private readonly shape: BlockShape;

  constructor(
    private readonly backend: Backend,
    private readonly config: VisionConfig,
    private readonly weights: VisionWeights,
  ) {
    this.freqs = ropeFrequencies(config.headDim, config.ropeTheta);
    this.shape = { nHeads: config.nHeads, nKvHeads: config.nHeads, headDim: config.headDim, normEps: 1e-5 };
  }

  /** Features [Σ rows·cols, hidden] of the images, in order, patches row-major within each image. */
  encode(images: readonly ImageInput[]): Tensor {
    const { backend, config, weights } = this;
    // 1. Patch convolution (stride = kernel = patch) as a matmul over flattened patches.
    let x = backend.matmul(patchify(images, config.patchSize, config.numChannels), weights.patchConv);
    // 2. Pre-norm of the whole sequence.
    x = backend.rmsNorm(x, weights.lnPre, 1e-5);
    // 3. 2-D positions restart at (0, 0) for every image.
    const angles = concatAngles(images.map((img) => rope2d(this.freqs, img.rows, img.cols)));
    // 4. Transformer with a block-diagonal mask: patches attend only within their own image.
    const spans = imageSpans(images);
    const attend = (q: Tensor, k: Tensor, v: Tensor) =>
      concatRows(
        spans.map(([start, end]) =>
          backend.attention(sliceRows(q, start, end), sliceRows(k, start, end), sliceRows(v, start, end), {
            nHeads: config.nHeads,
            nKvHeads: config.nHeads,
            headDim: config.headDim,
            scale: 1 / Math.sqrt(config.headDim),
          }),
        ),
      );
    for (const block of weights.blocks) x = transformerBlock(backend, x, block, this.shape, angles, attend);
    return x;
  }
}

/** Flattens every 16×16 patch in (channel, y, x) order: [Σ rows·cols, C·P·P]. */
export function patchify(images: readonly ImageInput[], patch: number, channels: number): Tensor {
  const patchSize = channels * patch * patch;
  const total = images.reduce((n, img) => n + img.rows * img.cols, 0);
  const out = tensor([total, patchSize]);
  let row = 0;
  for (const img of images) {
    const width = img.cols * patch;
    const plane = img.rows * patch * width;
    if (img.pixels.length !== channels * plane)
      throw new Error(`image pixels ${img.pixels.length} ≠ ${channels}×${img.rows * patch}×${width}`);
    for (let r = 0; r < img.rows; r++) {
      for (let c = 0; c < img.cols; c++, row++) {
        let at = row * patchSize;
        for (let ch = 0; ch < channels; ch++)
          for (let y = 0; y < patch; y++) {
            const src = ch * plane + (r * patch + y) * width + c * patch;
            out.data.set(img.pixels.subarray(src, src + patch), at);
            at += patch;
          }
      }
    }
  }
  return out;
}

function imageSpans(images: readonly ImageInput[]): [number, number][] {
  const spans: [number, number][] = [];
  let start = 0;
  for (const img of images) {
    spans.push([start, start + img.rows * img.cols]);
    start += img.rows * img.cols;
  }
  return spans;
}
