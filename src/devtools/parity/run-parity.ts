/** Runs every golden of a fixture set and reports one line per check. */
import { loadTokenizer } from '../../tokenizer/index.js';
import { checkChat } from './chat-checks.js';
import { ReferenceBackend } from '../../backend/reference/reference-backend.js';
import type { Backend } from '../../backend/types.js';
import { FixtureSet } from './fixture-set.js';
import { checkImages } from './image-checks.js';
import { checkModel } from './model-checks.js';
import { ParityReport } from './report.js';
import { checkTokenizer } from './tokenizer-checks.js';

export type LayoutChoice = 'consolidated' | 'hf' | 'both';

export async function runParity(
  dir: string,
  print: (line: string) => void,
  layouts: LayoutChoice = 'both',
  makeBackend: () => Backend = () => new ReferenceBackend(),
): Promise<ParityReport> {
  const set = new FixtureSet(dir);
  const report = new ParityReport(print);
  checkTokenizer(set, report);
  await checkChat(set, report);
  const tekken = loadTokenizer(set.path(set.goldens.tokenizer.tekken));
  await checkImages(set, report, tekken.image ?? { patchSize: 16, maxImageSize: 1024 });
  for (const layout of ['consolidated', 'hf'] as const)
    if (layouts === 'both' || layouts === layout) await checkModel(set, report, layout, makeBackend());
  return report;
}
