/** The native backend's side of `pixtral quantize`: which tensors become q8/q4 blocks, and the blocks. */
import type { TensorQuantizer } from '../../checkpoint/quantize-checkpoint.js';
import type { Quant } from '../../checkpoint/quantized.js';
import type { NativeAddon } from './addon.js';
import { NativeBackend } from './native-backend.js';
import { quantizeRows } from './native-weight.js';

export function nativeTensorQuantizer(addon: NativeAddon, quant: Quant): TensorQuantizer {
  // The same decisions as a backend quantizing on the fly, so a quantized file loads like one.
  const backend = new NativeBackend(addon, { quant });
  return {
    quant,
    fate: (tensor) => backend.tensorFate(tensor),
    // Rows, never panels: a file must read the same on every machine and kernel level.
    quantize: (raw) => quantizeRows(raw, quant, addon),
  };
}
