/** Chat goldens: each request body rendered to prompt ids (images decoded and laid out by our pipeline). */
import { dataUriFetcher } from '../engine/fetchers.js';
import { preparePrompt } from '../engine/prepare.js';
import { loadTokenizer } from '../tokenizer/index.js';
import type { FixtureSet } from './fixture-set.js';
import { compareIds, type ParityReport } from './report.js';

export async function checkChat(set: FixtureSet, report: ParityReport): Promise<void> {
  const tokenizer = loadTokenizer(set.path(set.goldens.tokenizer.tekken));
  const image = tokenizer.image ?? { patchSize: 16, maxImageSize: 1024 };
  for (const c of set.goldens.chat as { name: string; request: string; ids: number[] }[]) {
    await report.checkAsync(`chat/${c.name}`, async () => {
      const prompt = await preparePrompt(set.json(c.request), tokenizer, image, dataUriFetcher());
      return compareIds(prompt.ids, c.ids);
    });
  }
}
