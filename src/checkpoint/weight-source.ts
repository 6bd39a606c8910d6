/** Anything that can hand the model its tensors by internal name: a checkpoint on disk or synthetic weights. */
import type { GgmlBlockType, RawTensor } from './checkpoint.js';
import type { PixtralConfig } from './config.js';
import type { DType } from './dtype.js';

export interface WeightSource {
  readonly config: PixtralConfig;
  names(): string[];
  /** A tensor's stored dtype and shape, without reading it. */
  /** ggml: GGUF blocks read as stored (dtype U8), see RawTensor. */
  info(name: string): {
    readonly dtype: DType;
    readonly shape: readonly number[];
    readonly ggml?: GgmlBlockType;
  };
  readRaw(name: string): RawTensor;
}
