/**
 * Prompt-lookup drafting (issue #15): answers that copy from their prompt — extraction, quoting a document,
 * editing code — repeat its token runs. The last few tokens of the text so far are looked up in it (the prompt
 * and the answer so far, latest occurrence first) and the tokens that followed that occurrence are proposed as
 * a draft, which the model then verifies in one forward pass (the scheduler keeps what it would have sampled
 * anyway). Longer matches are tried first: they predict better.
 */

import { MAX_DRAFT_TOKENS } from './draft-policy.js';

/** Match lengths tried, longest first. */
const LONGEST_MATCH = 4;
const SHORTEST_MATCH = 2;

/**
 * Up to `maxDraft` tokens that followed the latest earlier occurrence of the text's last n tokens
 * (n = 4 down to 2), where the text is `prompt` followed by `output`; empty when nothing matches. The draft ends
 * before the first id `undraftable` refuses (control tokens such as [IMG], which cannot be fed without their
 * image and are never sampled).
 */
export function draftFromPrompt(
  prompt: readonly number[],
  output: readonly number[],
  maxDraft = MAX_DRAFT_TOKENS,
  undraftable: (id: number) => boolean = () => false,
): number[] {
  const total = prompt.length + output.length;
  const at = (i: number) => (i < prompt.length ? prompt[i]! : output[i - prompt.length]!);
  for (let n = Math.min(LONGEST_MATCH, total - 1); n >= SHORTEST_MATCH; n--) {
    // Latest occurrence of the last n tokens that ends before them.
    for (let end = total - 1; end >= n; end--) {
      let same = true;
      for (let k = 1; k <= n && same; k++) same = at(end - k) === at(total - k);
      if (!same) continue;
      const draft: number[] = [];
      for (let i = end; i < total && draft.length < maxDraft && !undraftable(at(i)); i++) draft.push(at(i));
      if (draft.length > 0) return draft;
    }
  }
  return [];
}
