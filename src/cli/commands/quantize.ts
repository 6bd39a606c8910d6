/**
 * `pixtral quantize MODEL_DIR --to q8|q4 OUT_DIR`: writes a quantized checkpoint (one memory-mappable
 * safetensors file + the tokenizer) that `run`, `serve` and `bench` load directly with `--model OUT_DIR`.
 * It says how much was quantized and which weights could not be, and fails when nothing could.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNativeAddon, nativeUnavailableReason } from '../../backend/native/addon.js';
import { nativeTensorQuantizer } from '../../backend/native/tensor-quantizer.js';
import { BackendUnavailableError } from '../../backend/select.js';
import { Checkpoint } from '../../checkpoint/index.js';
import { listTensors, QUANT_BLOCK, quantizeCheckpoint } from '../../checkpoint/quantize-checkpoint.js';
import { QUANTIZED_FILE } from '../../checkpoint/quantized.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { CliIO } from '../io.js';
import { progressBar } from '../progress.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { to: { type: 'string' }, ...MODEL_OPTIONS },
    { min: 2, max: 2, names: 'MODEL_DIR OUT_DIR' },
  );
  if (values.to !== 'q8' && values.to !== 'q4') throw new UsageError('--to must be q8 or q4');
  const [name, outDir] = positionals as [string, string];
  const modelDir = (await resolveModelOption(name, values, io)).location;
  // Checkpoint.open would only say "not a Pixtral model folder" about a quantize output.
  if (existsSync(join(modelDir, QUANTIZED_FILE)))
    throw new UsageError(`${modelDir} is already quantized; quantize the original model folder`);
  const addon = loadNativeAddon();
  if (!addon)
    throw new BackendUnavailableError(`quantizing needs the native kernels: ${nativeUnavailableReason()}`);
  const checkpoint = Checkpoint.open(modelDir);
  const progress = progressBar(`quantizing to ${values.to}`, io);
  try {
    const report = quantizeCheckpoint(nativeTensorQuantizer(addon, values.to), {
      source: checkpoint,
      tokenizerFile: checkpoint.tokenizerFile,
      image: checkpoint.image,
      outDir,
      onProgress: progress.update,
    });
    progress.done();
    const { quantized, unaligned } = report;
    io.out(`${report.file}: ${formatBytes(report.bytes)} (from ${formatBytes(checkpoint.weightBytes())})`);
    io.out(
      `${quantized.count} of ${report.total} tensors stored as ${values.to}: ` +
        `${formatBytes(quantized.fromBytes)} → ${formatBytes(quantized.toBytes)}`,
    );
    if (unaligned.length > 0)
      io.err(
        `note: ${unaligned.length} matmul weight${unaligned.length === 1 ? '' : 's'} kept in full precision ` +
          `because the input width is not a multiple of ${QUANT_BLOCK}: ${listTensors(unaligned)}`,
      );
    return 0;
  } finally {
    checkpoint.close();
  }
}
