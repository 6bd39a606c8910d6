/**
 * The engine of a command that runs a model in this process (run, chat, extract): the model named by --model —
 * or the embedded demo model — fitted to the machine, loaded with a progress bar.
 */
import { Engine } from '../engine/engine.js';
import { engineOptions } from './backend-options.js';
import { fitModel } from './fit-model.js';
import type { CliIO } from './io.js';
import { modelOrDemo, type ModelOptionValues, resolveModelOption } from './model-option.js';
import { progressBar } from './progress.js';

export type LocalEngineValues = Parameters<typeof engineOptions>[0] &
  ModelOptionValues & { readonly model?: string };

export async function loadLocalEngine(values: LocalEngineValues, io: CliIO): Promise<Engine> {
  const model = await fitModel(
    await resolveModelOption(modelOrDemo(values.model, io), values, io),
    values.quant,
    io,
  );
  const progress = progressBar('loading model', io);
  const engine = Engine.load(model.location, engineOptions({ ...values, quant: model.quant }), {
    onProgress: progress.update,
    onWarning: io.err,
  });
  progress.done();
  return engine;
}
