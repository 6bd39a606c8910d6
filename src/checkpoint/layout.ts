/** What a layout loader hands back: the config and, for every internal tensor name, where its bytes are. */
import type { PixtralConfig } from './config.js';
import type { SafetensorsFile } from './safetensors.js';

export type LayoutName = 'consolidated' | 'hf';

export interface TensorSource {
  readonly file: SafetensorsFile;
  readonly nameInFile: string;
  /** q/k rows stored rotate-half (HF); undo with this many heads. */
  readonly rotateHalfHeads?: number;
}

export interface ImageSettings {
  readonly patchSize: number;
  readonly maxImageSize: number;
}

export interface LoadedLayout {
  readonly layout: LayoutName;
  readonly config: PixtralConfig;
  readonly configFile: string;
  readonly tokenizerFile: string;
  readonly image: ImageSettings | null;
  readonly files: readonly SafetensorsFile[];
  /** Finds a tensor by internal name, or undefined when the checkpoint lacks it. */
  locate(internalName: string, ropeHeads: number | undefined): TensorSource | undefined;
}
