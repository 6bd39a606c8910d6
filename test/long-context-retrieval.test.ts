/**
 * Far positions work: a hand-set induction model (test/helpers/induction-model.ts) must return the token that
 * followed a marker placed more than 100,000 tokens back — through the engine's real prefill (chunked, paged KV
 * cache, flash-style attention, RoPE tables at far positions) on the native kernels.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBackend } from '../src/backend/select.js';
import { prefillPrompt } from '../src/engine/probes.js';
import { PixtralModel } from '../src/model/pixtral.js';
import { SeededRandom } from '../src/generate/random.js';
import { argmax } from '../src/generate/sampler.js';
import { InductionWeights, MARKER, previousTokenScore, VOCAB } from './helpers/induction-model.js';

/** Filler, the marker, the needle, more filler up to `length − 1` tokens, and the marker again as the question. */
function haystack(length: number, needle: number, seed: number): number[] {
  const random = new SeededRandom(seed);
  const filler = () => Math.floor(random.next() * (VOCAB - 4));
  const ids = [filler(), filler(), filler(), MARKER, needle];
  while (ids.length < length - 1) ids.push(filler());
  ids.push(MARKER);
  return ids;
}

describe('retrieval from far back (hand-set induction model)', () => {
  const model = PixtralModel.fromCheckpoint(new InductionWeights(), selectBackend({ backend: 'native' }));

  it('the previous-token head beats every other distance up to 110,000 by a wide margin', () => {
    const best = previousTokenScore(1);
    let runnerUp = -Infinity;
    for (let d = 0; d <= 110_000; d++) if (d !== 1) runnerUp = Math.max(runnerUp, previousTokenScore(d));
    // e^-40 per position leaves < 1e-12 of the weight elsewhere even summed over 110K positions.
    assert.ok(best - runnerUp > 40, `margin ${best - runnerUp}`);
  });

  it('short haystacks: the answer is whatever token followed the marker', () => {
    for (const needle of [7, 23, 42]) {
      const ids = haystack(2000, needle, needle);
      const { cache, logits } = prefillPrompt(model, ids);
      cache.release();
      assert.equal(argmax(logits), needle);
    }
  });

  it('returns the needle from more than 100,000 tokens back', () => {
    const needle = 37;
    const ids = haystack(100_010, needle, 2026);
    assert.ok(ids.length - 1 - ids.indexOf(MARKER) - 1 >= 100_000);
    const { cache, logits } = prefillPrompt(model, ids);
    cache.release();
    assert.equal(argmax(logits), needle);
  });
});
