/** Tokenizer goldens: encode and decode with tekken.json and with the HF tokenizer.json of the same set. */
import { existsSync } from 'node:fs';
import { loadTokenizer, type Tokenizer } from '../../tokenizer/index.js';
import type { FixtureSet } from './fixture-set.js';
import { compareIds, type ParityReport } from './report.js';

export function checkTokenizer(set: FixtureSet, report: ParityReport): void {
  const { tokenizer: golden, model } = set.goldens;
  const files: [string, string][] = [['tekken', set.path(golden.tekken)]];
  const hfFile = model?.hf ? set.path(`${model.hf}/tokenizer.json`) : null;
  if (hfFile && existsSync(hfFile)) files.push(['hf', hfFile]);

  for (const [label, file] of files) {
    let tokenizer: Tokenizer;
    try {
      tokenizer = loadTokenizer(file);
    } catch (err) {
      report.fail(`tokenizer/${label}/load`, (err as Error).message);
      continue;
    }
    golden.cases.forEach((c: { text: string; ids: number[]; pieces?: string[] }, i: number) => {
      const name = `tokenizer/${label}/encode[${i}] ${JSON.stringify(c.text).slice(0, 40)}`;
      report.check(name, () => compareIds(tokenizer.encode(c.text), c.ids));
    });
    golden.cases.forEach((c: { text: string; ids: number[]; pieces?: string[] }, i: number) => {
      report.check(`tokenizer/${label}/decode-case[${i}]`, () => {
        const text = tokenizer.decode(c.ids);
        if (text !== c.text)
          throw new Error(`got ${JSON.stringify(text)}, expected ${JSON.stringify(c.text)}`);
        if (c.pieces) {
          const pieces = c.ids.map((id) => tokenizer.decode([id]));
          const bad = pieces.findIndex((p, k) => p !== c.pieces![k]);
          if (bad >= 0)
            throw new Error(
              `piece ${bad}: got ${JSON.stringify(pieces[bad])}, expected ${JSON.stringify(c.pieces[bad])}`,
            );
        }
        return 'exact';
      });
    });
    (golden.decode ?? []).forEach((d: { ids: number[]; text: string }, i: number) => {
      report.check(`tokenizer/${label}/decode[${i}]`, () => {
        const text = tokenizer.decode(d.ids);
        if (text !== d.text)
          throw new Error(`got ${JSON.stringify(text)}, expected ${JSON.stringify(d.text)}`);
        return 'exact';
      });
    });
  }
}
