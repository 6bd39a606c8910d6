/**
 * A hub model, made to fit the machine: when its full-precision weights would not fit in memory (or `--quant`
 * asks for q8/q4), the first run writes a quantized copy once into our store — keyed by the snapshot's commit —
 * says so in one line, and every later run maps that copy. Models given by path keep `--quant` as it always
 * was: quantized on the fly at load.
 */
import { loadNativeAddon, nativeUnavailableReason } from '../backend/native/addon.js';
import { nativeTensorQuantizer } from '../backend/native/tensor-quantizer.js';
import { BackendUnavailableError } from '../backend/select.js';
import { Checkpoint } from '../checkpoint/index.js';
import { quantizeCheckpoint } from '../checkpoint/quantize-checkpoint.js';
import type { Quant } from '../checkpoint/quantized.js';
import { pixtralModelsDir } from '../hub/hub-settings.js';
import { availableMemory, DEFAULT_FIT_QUANT, fitsInMemory } from '../hub/memory-fit.js';
import { QuantizedStore } from '../hub/quantized-store.js';
import type { ResolvedModel } from '../hub/resolve-model.js';
import type { CliIO } from './io.js';
import { progressBar } from './progress.js';
import { shortBytes } from './transfer-progress.js';

export interface FittedModel {
  readonly location: string;
  /** The `--quant` the backend applies at load: 'none' when the location is already a quantized copy. */
  readonly quant: string | undefined;
}

export async function fitModel(
  model: ResolvedModel,
  quant: string | undefined,
  io: CliIO,
): Promise<FittedModel> {
  if (model.kind !== 'hub' || (model.model.layout !== 'consolidated' && model.model.layout !== 'hf'))
    return { location: model.location, quant };
  if (quant === 'none') return { location: model.location, quant };
  let target = quant as Quant | undefined;
  if (target === undefined) {
    const bytes = weightBytes(model.location);
    const available = availableMemory();
    if (fitsInMemory(bytes, available)) return { location: model.location, quant };
    target = DEFAULT_FIT_QUANT;
    io.err(
      `${model.model.repo}: ${shortBytes(bytes)} of weights + 2 GiB do not fit in ${shortBytes(available)} of free ` +
        `memory; running a ${target} copy (made once; --quant none to force full precision)`,
    );
  }
  if (target !== 'q8' && target !== 'q4') return { location: model.location, quant };
  const store = new QuantizedStore(pixtralModelsDir());
  const { repo, commit } = model.model;
  const copy =
    store.find(repo, commit, target) ?? (await makeCopy(store, model.location, repo, commit, target, io));
  return { location: copy, quant: 'none' };
}

function weightBytes(dir: string): number {
  const checkpoint = Checkpoint.open(dir);
  try {
    return checkpoint.weightBytes();
  } finally {
    checkpoint.close();
  }
}

async function makeCopy(
  store: QuantizedStore,
  source: string,
  repo: string,
  commit: string,
  quant: Quant,
  io: CliIO,
) {
  const addon = loadNativeAddon();
  if (!addon)
    throw new BackendUnavailableError(
      `a ${quant} copy needs the native kernels: ${nativeUnavailableReason()}`,
    );
  const dir = await store.create(repo, commit, quant, (outDir) => {
    const checkpoint = Checkpoint.open(source);
    const progress = progressBar(`quantizing ${repo} to ${quant} (once)`, io);
    try {
      quantizeCheckpoint(nativeTensorQuantizer(addon, quant), {
        source: checkpoint,
        tokenizerFile: checkpoint.tokenizerFile,
        image: checkpoint.image,
        outDir,
        onProgress: progress.update,
      });
    } finally {
      progress.done();
      checkpoint.close();
    }
  });
  io.err(`${repo}: ${quant} copy written to ${dir}`);
  return dir;
}
