/**
 * Prompt-lookup speculative decoding: drafts from the prompt, verified in one forward pass, must leave the
 * output exactly as plain decoding gives it — greedy, and sampled with the same seed (same draws, same tokens).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { DEMO_MODEL, demoModelDir } from '../src/demo/embedded-model.js';
import { heldOutItems } from '../src/demo/dataset.js';
import { demoMessages, scenePng } from '../src/demo/render.js';
import { Engine } from '../src/engine/engine.js';
import { loadModel } from '../src/engine/load-model.js';
import { Scheduler, type SchedulerOptions } from '../src/engine/scheduler.js';
import { DraftPolicy, DraftTimings, MAX_DRAFT_TOKENS } from '../src/generate/draft-policy.js';
import { draftFromPrompt } from '../src/generate/prompt-lookup.js';
import type { GenerateOptions } from '../src/generate/sequence.js';
import { collect, decodeOptions, prepare } from './helpers/engine.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

describe('prompt lookup', () => {
  it('drafts what followed the latest earlier occurrence of the last tokens, longest match first', () => {
    //                 0  1  2  3  4  5  6  7  8  9
    const prompt = [1, 5, 6, 7, 8, 9, 5, 6, 2, 3];
    assert.deepEqual(draftFromPrompt(prompt, [5, 6], 3), [2, 3, 5], 'latest "5 6" is at 6..7');
    assert.deepEqual(draftFromPrompt(prompt, [9, 5, 6], 3), [2, 3, 9], 'the 3-gram "9 5 6" is at 5..7');
    assert.deepEqual(draftFromPrompt(prompt, [6, 7], 8), [8, 9, 5, 6, 2, 3, 6, 7]);
    assert.deepEqual(draftFromPrompt(prompt, [4, 4]), [], 'no match');
    assert.deepEqual(draftFromPrompt(prompt, [7], 2), [], 'one token is too little to match on');
    assert.deepEqual(draftFromPrompt([], [], 4), []);
    assert.equal(draftFromPrompt(prompt, [6, 7], 2).length, 2, 'at most maxDraft tokens');
    // A system prompt right before a picture: the draft stops before the [IMG] tokens (id 10 here).
    const withImage = [1, 3, 40, 41, 42, 10, 10, 12, 10, 10, 13, 50, 4];
    const control = (id: number) => id < 20;
    assert.deepEqual(draftFromPrompt(withImage, [41, 42], 8), [10, 10, 12, 10, 10, 13, 50, 4], 'unguarded');
    assert.deepEqual(draftFromPrompt(withImage, [41, 42], 8, control), [], 'nothing draftable follows');
    assert.deepEqual(draftFromPrompt([...withImage, 40, 41, 60, 61], [40, 41], 8, control), [60, 61, 40, 41]);
  });

  it('drafts only when the measured timings and acceptance say it pays, and probes now and then', () => {
    const timings = new DraftTimings();
    const policy = new DraftPolicy(timings);
    assert.equal(policy.draftLength(100), 0, 'no plain step timed yet: nothing to compare with');
    timings.plainStep(0.3);
    // Verification cost unknown: optimistic, it drafts the most to find out.
    assert.equal(policy.draftLength(100), MAX_DRAFT_TOKENS);
    assert.equal(policy.draftLength(3), 3, 'never past the answer budget');
    // A big model on two cores: each verified position costs a quarter of a step. Nothing accepted: stop.
    timings.verified(8, 0.3 + 8 * 0.075);
    for (let i = 0; i < 6; i++) policy.record(4, 0);
    const lengths = Array.from({ length: 32 }, () => policy.draftLength(100));
    assert.deepEqual(
      lengths.filter((k) => k > 0),
      [2, 2],
      'only the probes every 16 plain steps',
    );
    // A sequence copying its prompt: long runs accepted, so long drafts pay.
    const copying = new DraftPolicy(timings);
    for (let i = 0; i < 10; i++) copying.record(8, 8);
    assert.ok(copying.draftLength(100) >= 6, `${copying.draftLength(100)}`);
    // Cheap verification (a small model): even a modest acceptance pays.
    const cheap = new DraftTimings();
    cheap.plainStep(0.01);
    cheap.verified(8, 0.0104);
    const modest = new DraftPolicy(cheap);
    for (let i = 0; i < 10; i++) modest.record(8, 1);
    assert.ok(modest.draftLength(100) > 0);
    assert.equal(new DraftPolicy(timings, 'always').draftLength(5), 5);
    // Measured per length, not a straight line (the 12B's q4 shapes on this machine): at half the drafts
    // accepted, 2 drafts (1.14 steps) beat both plain decoding and 4 drafts (1.94 steps).
    const measured = new DraftTimings();
    measured.plainStep(0.29);
    measured.verified(2, 0.331);
    measured.verified(4, 0.564);
    measured.verified(8, 0.924);
    const half = new DraftPolicy(measured);
    for (let i = 0; i < 20; i++) half.record(4, i % 2 === 0 ? 1 : 0);
    assert.equal(half.draftLength(100), 2);
  });

  const goldens = loadGoldens();
  const location = fixturePath(goldens.model.consolidated);
  const engine = Engine.load(location);
  for (const backend of [{ backend: 'reference' as const }, { backend: 'native' as const }]) {
    it(`gives the greedy goldens of the fixture model exactly (${backend.backend})`, async () => {
      const { model, tokenizer } = loadModel(location, { backend });
      const scheduler = new Scheduler(model, tokenizer, { speculation: 'always' });
      for (const g of goldens.model.generate) {
        const prompt = await prepare(engine, JSON.parse(readFileSync(fixturePath(g.request), 'utf8')));
        const options = decodeOptions(g.max_new_tokens);
        const { done } = await collect(scheduler.submitChoices(prompt, [options])[0]!);
        assert.deepEqual(
          done.tokens.slice(0, g.greedy.length),
          g.greedy.slice(0, done.tokens.length),
          g.name,
        );
      }
      const { draftedTokens, verifySteps } = scheduler.stats;
      assert.ok(
        verifySteps > 0 && draftedTokens > 0,
        `${draftedTokens} tokens drafted in ${verifySteps} passes`,
      );
    });
  }

  it('samples exactly the tokens plain decoding samples with the same seed (reference backend)', async () => {
    const { model, tokenizer } = loadModel(location, { backend: { backend: 'reference' } });
    const run = async (options: SchedulerOptions, sampling: GenerateOptions['sampling']) => {
      const scheduler = new Scheduler(model, tokenizer, options);
      const prompt = await prepare(engine, { messages: [{ role: 'user', content: 'la la la la la la la' }] });
      const { done } = await collect(scheduler.submitChoices(prompt, [decodeOptions(24, { sampling })])[0]!);
      return { tokens: done.tokens, stats: scheduler.stats };
    };
    for (const seed of [1, 2, 3]) {
      const sampling = { temperature: 0.8, topP: 0.95, seed };
      const plain = await run({ speculation: false }, sampling);
      const speculative = await run({ speculation: 'always' }, sampling);
      assert.deepEqual(speculative.tokens, plain.tokens, `seed ${seed}`);
      assert.equal(plain.stats.verifySteps, 0);
    }
  });

  it('on the demo model’s receipt extraction: same JSON, fewer forward passes', async () => {
    const demo = Engine.load(demoModelDir(), { scheduler: { speculation: 'always' } });
    const plain = Engine.load(demoModelDir(), { scheduler: { speculation: false } });
    const items = heldOutItems(4).filter((item) => item.task === 'receipt');
    for (const item of items) {
      const png = await scenePng(item.scene!);
      const body = { model: DEMO_MODEL, messages: demoMessages(item, png), temperature: 0, max_tokens: 160 };
      const answers = [];
      for (const engine of [demo, plain]) {
        const prompt = await prepare(engine, body);
        answers.push((await collect(engine.generate(prompt))).done);
      }
      assert.deepEqual(answers[0]!.tokens, answers[1]!.tokens, item.question);
    }
    const fast = demo.stats();
    const slow = plain.stats();
    assert.ok(
      fast.acceptedTokens > 0,
      `${fast.acceptedTokens} of ${fast.draftedTokens} drafted tokens accepted`,
    );
    assert.ok(
      fast.decodeSteps < slow.decodeSteps,
      `${fast.decodeSteps} vs ${slow.decodeSteps} forward passes`,
    );
    await Promise.all([demo.close(), plain.close()]);
  });
});
