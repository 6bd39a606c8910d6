/** Anything that can hand the model its tensors by internal name: a checkpoint on disk or synthetic weights. */
import type { RawTensor } from './checkpoint.js';
import type { PixtralConfig } from './config.js';
import type { DType } from './dtype.js';

export interface WeightSource {
  readonly config: PixtralConfig;
  names(): string[];
  /** A tensor's stored dtype and shape, without reading it. */
  info(name: string): { readonly dtype: DType; readonly shape: readonly number[] };
  readRaw(name: string): RawTensor;
}
