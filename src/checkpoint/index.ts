export { Checkpoint, detectLayout, type RawTensor } from './checkpoint.js';
export { CheckpointError } from './errors.js';
export { writeSafetensors, type TensorToWrite } from './safetensors-writer.js';
export { SafetensorsFile, type TensorInfo } from './safetensors.js';
export type { PixtralConfig, TextConfig, VisionConfig } from './config.js';
export { type DType, toFloat32, f32ToBf16Bits, DTYPE_BYTES } from './dtype.js';
export type { LayoutName, ImageSettings } from './layout.js';
export { hfRowsToInterleaved, interleavedRowsToHf } from './rope-permutation.js';
