/** Chat goldens: each request body rendered to prompt ids (images decoded and laid out by our pipeline). */
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { dataUriFetcher } from '../../engine/fetchers.js';
import { preparePrompt } from '../../engine/prepare.js';
import { loadTokenizer } from '../../tokenizer/index.js';
import type { FixtureSet } from './fixture-set.js';
import { compareIds, type ParityReport } from './report.js';

export async function checkChat(set: FixtureSet, report: ParityReport): Promise<void> {
  const tokenizer = loadTokenizer(set.path(set.goldens.tokenizer.tekken));
  const image = tokenizer.image ?? { patchSize: 16, maxImageSize: 1024 };
  for (const c of set.goldens.chat as { name: string; request: string; ids: number[] }[]) {
    await report.checkAsync(`chat/${c.name}`, async () => {
      const rules = { tokenizer, image, maxContext: Infinity };
      const prompt = await preparePrompt(
        validateCompletionRequest(set.json(c.request)),
        rules,
        dataUriFetcher(),
      );
      return compareIds(prompt.ids, c.ids);
    });
  }
}
