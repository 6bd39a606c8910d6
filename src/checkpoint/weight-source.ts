/** Anything that can hand the model its tensors by internal name: a checkpoint on disk or synthetic weights. */
import type { RawTensor } from './checkpoint.js';
import type { PixtralConfig } from './config.js';

export interface WeightSource {
  readonly config: PixtralConfig;
  names(): string[];
  readRaw(name: string): RawTensor;
}
