/**
 * `pixtral quality MODEL_DIR --quant q8|q4 [--baseline none|q8] [--image PATH]`: top-1 agreement and mean KL
 * divergence of the quantized model against full precision over a fixed text + image prompt set; with
 * `--versus OTHER` (e.g. a GGUF quantization of the same model), of that copy as stored. On the demo
 * model (a trained one, unlike builtin:tiny) it also scores the held-out questions at both precisions.
 */
import { resolve } from 'node:path';
import type { Quantization } from '../../backend/native/native-weight.js';
import { demoModelDir } from '../../demo/embedded-model.js';
import { evaluateDemo, type TaskAccuracy } from '../../demo/evaluate.js';
import { loadModel } from '../../library/model.js';
import { measureQuality } from '../../devtools/quality/quality.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { imageUrl } from '../image-input.js';
import type { CliIO } from '../io.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      quant: { type: 'string' },
      baseline: { type: 'string' },
      image: { type: 'string' },
      json: { type: 'boolean' },
      versus: { type: 'string' },
      ...MODEL_OPTIONS,
    },
    { min: 1, max: 1, names: 'MODEL_DIR' },
  );
  // --versus scores another copy of the model (a GGUF quantization) as it is stored; else --quant makes one.
  const quant = values.quant ?? (values.versus !== undefined ? 'none' : undefined);
  if (quant !== 'q8' && quant !== 'q4' && !(quant === 'none' && values.versus !== undefined))
    throw new UsageError('--quant must be q8 or q4 (or give --versus MODEL)');
  const baseline = values.baseline ?? 'none';
  if (baseline !== 'none' && baseline !== 'q8') throw new UsageError('--baseline must be none (bf16) or q8');
  const image = values.image ? await imageUrl(values.image) : undefined;
  const { location } = await resolveModelOption(positionals[0]!, values, io);
  const report = await measureQuality(
    location,
    { backend: 'auto', quant: baseline },
    { backend: 'native', quant },
    {
      onWarning: io.err,
      ...(image && { imageDataUri: image }),
      ...(values.versus !== undefined && {
        // --mmproj belongs to MODEL; a GGUF copy finds its own beside it.
        versus: (await resolveModelOption(values.versus, { ...values, mmproj: undefined }, io)).location,
      }),
    },
  );
  const demo =
    resolve(location) === resolve(demoModelDir()) && values.versus === undefined
      ? await demoAccuracy(location, baseline, quant, io)
      : undefined;
  if (values.json) io.out(JSON.stringify({ quant, baseline, ...report, ...(demo && { demoEval: demo }) }));
  else {
    io.out(
      `${values.versus ?? quant} vs ${baseline === 'none' ? 'bf16' : baseline}: top-1 agreement ${(report.top1Agreement * 100).toFixed(2)}% over ${report.positions} positions, mean KL ${report.meanKl.toExponential(3)} (max ${report.maxKl.toExponential(3)})`,
    );
    if (demo)
      for (const [name, tasks] of Object.entries(demo))
        io.out(
          `demo eval ${name}: ${tasks.map((t) => `${t.task} ${((100 * t.correct) / t.items).toFixed(1)}%`).join(', ')}`,
        );
  }
  return 0;
}

/** Held-out accuracy of the demo model at the baseline and the quantized precision. */
async function demoAccuracy(
  location: string,
  baseline: Quantization,
  quant: Quantization,
  io: CliIO,
): Promise<Record<string, TaskAccuracy[]>> {
  const out: Record<string, TaskAccuracy[]> = {};
  for (const q of [baseline, quant]) {
    const model = await loadModel(location, { quant: q, onWarning: io.err });
    try {
      out[q === 'none' ? 'bf16' : q] = (await evaluateDemo(model)).tasks;
    } finally {
      await model.close();
    }
  }
  return out;
}
