/**
 * Model goldens, for each checkpoint layout of the set: vision-encoder and adapter outputs per image, last-position
 * logits and top-5 per request, and greedy generations. Images go through our own preprocessing.
 */
import { ReferenceBackend } from '../../backend/reference/reference-backend.js';
import type { Backend } from '../../backend/types.js';
import { Checkpoint } from '../../checkpoint/index.js';
import { dataUriFetcher } from '../../engine/fetchers.js';
import { preparePrompt } from '../../engine/prepare.js';
import { greedyTokens, promptLogits } from '../../engine/probes.js';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { preprocessImage } from '../../image/index.js';
import { PixtralModel } from '../../model/pixtral.js';
import type { ImageInput } from '../../model/vision-encoder.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import type { FixtureSet } from './fixture-set.js';
import { compareFloats, compareIds, maxAbs, type ParityReport } from './report.js';

/** The fixture README's bound for vision, adapter and logits: 1e-4 · max(1, max |golden|). */
export function relativeTolerance(golden: Float32Array): number {
  return 1e-4 * Math.max(1, maxAbs(golden));
}

export async function checkModel(
  set: FixtureSet,
  report: ParityReport,
  layout: 'consolidated' | 'hf',
  backend: Backend = new ReferenceBackend(),
): Promise<void> {
  const dir = set.goldens.model?.[layout];
  if (!dir) {
    report.skip(`model/${layout}`, 'the fixture set has no such model folder');
    return;
  }
  let model: PixtralModel;
  let checkpoint: Checkpoint;
  try {
    checkpoint = Checkpoint.open(set.path(dir));
    model = PixtralModel.fromCheckpoint(checkpoint, backend);
  } catch (err) {
    report.fail(`model/${layout}/load`, (err as Error).message);
    return;
  }
  const tokenizer = loadTokenizer(set.path(set.goldens.tokenizer.tekken));
  const image = tokenizer.image ?? checkpoint.image ?? { patchSize: 16, maxImageSize: 1024 };
  checkpoint.close();
  const prefix = `model/${layout}`;

  for (const v of set.goldens.model.vision ?? []) {
    let input: ImageInput;
    try {
      input = await preprocessImage(set.bytes(v.image), image);
    } catch (err) {
      report.fail(`${prefix}/vision/${v.image}`, (err as Error).message);
      continue;
    }
    report.check(`${prefix}/vision/${v.image}`, () => {
      const golden = set.f32(v.vision_out.file);
      return compareFloats(model.encodeImages([input]).data, golden, relativeTolerance(golden));
    });
    report.check(`${prefix}/adapter/${v.image}`, () => {
      const golden = set.f32(v.adapter_out.file);
      return compareFloats(model.imageEmbeddings([input]).data, golden, relativeTolerance(golden));
    });
  }

  const imagesOf = async (request: string) => {
    const rules = { tokenizer, image, maxContext: model.config.maxContext };
    return (await preparePrompt(validateCompletionRequest(set.json(request)), rules, dataUriFetcher()))
      .images;
  };

  for (const l of set.goldens.model.logits ?? []) {
    await report.checkAsync(`${prefix}/logits/${l.name}`, async () => {
      const logits = promptLogits(model, l.ids, await imagesOf(l.request));
      const golden = set.f32(l.last_logits.file);
      const result = compareFloats(logits, golden, relativeTolerance(golden));
      const top5 = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, 5);
      const topOk = top5.every((id, i) => id === l.top5[i]);
      return {
        ...result,
        outcome: result.outcome === 'pass' && topOk ? 'pass' : 'fail',
        detail: `${result.detail}; top-5 ${topOk ? 'exact' : `[${top5}] ≠ [${l.top5}]`}`,
      };
    });
  }

  for (const g of set.goldens.model.generate ?? []) {
    await report.checkAsync(`${prefix}/generate/${g.name}`, async () => {
      const images = await imagesOf(g.request);
      const out = greedyTokens(model, g.ids, images, g.max_new_tokens, tokenizer.eosId);
      const result = compareIds(out, g.greedy);
      return { ...result, detail: `greedy ${result.detail}` };
    });
  }
}
