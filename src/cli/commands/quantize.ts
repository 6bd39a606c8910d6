/**
 * `pixtral quantize MODEL_DIR --to q8|q4 OUT_DIR`: writes a quantized checkpoint (one memory-mappable
 * safetensors file + the tokenizer) that `run`, `serve` and `bench` load directly with `--model OUT_DIR`.
 */
import { loadNativeAddon, nativeUnavailableReason } from '../../backend/native/addon.js';
import { quantizeCheckpoint } from '../../backend/native/quantize-checkpoint.js';
import { BackendUnavailableError } from '../../backend/select.js';
import { Checkpoint } from '../../checkpoint/index.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { CliIO } from '../io.js';
import { progressBar } from '../progress.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { to: { type: 'string' } },
    { min: 2, max: 2, names: 'MODEL_DIR OUT_DIR' },
  );
  if (values.to !== 'q8' && values.to !== 'q4') throw new UsageError('--to must be q8 or q4');
  const addon = loadNativeAddon();
  if (!addon)
    throw new BackendUnavailableError(`quantizing needs the native kernels: ${nativeUnavailableReason()}`);
  const checkpoint = Checkpoint.open(positionals[0]!);
  const progress = progressBar(`quantizing to ${values.to}`, io);
  try {
    const { file, bytes } = quantizeCheckpoint(addon, {
      source: checkpoint,
      tokenizerFile: checkpoint.tokenizerFile,
      image: checkpoint.image,
      quant: values.to,
      outDir: positionals[1]!,
      onProgress: progress.update,
    });
    progress.done();
    io.out(`${file}: ${formatBytes(bytes)} (from ${formatBytes(checkpoint.weightBytes())})`);
    return 0;
  } finally {
    checkpoint.close();
  }
}
