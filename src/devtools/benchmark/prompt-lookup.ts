/**
 * `pixtral bench --prompt-lookup`: what prompt-lookup decoding buys on copy-heavy answers — the embedded demo
 * model extracting the held-out receipts as JSON, greedy, once plainly and once with drafts — as tokens drafted
 * and accepted, forward passes, and decode speed. Both runs must give the same tokens (it checks).
 */
import { type DemoItem, heldOutItems } from '../../demo/dataset.js';
import { DEMO_MODEL, demoModelDir } from '../../demo/embedded-model.js';
import { demoMessages, scenePng } from '../../demo/render.js';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import { Engine } from '../../engine/engine.js';
import type { SchedulerStats } from '../../engine/scheduler.js';

export type Decoding = 'plain' | 'prompt lookup (adaptive)' | 'prompt lookup (always)';
const MODES: [Decoding, boolean | 'always'][] = [
  ['plain', false],
  ['prompt lookup (adaptive)', true],
  ['prompt lookup (always)', 'always'],
];

export interface PromptLookupRun {
  readonly decoding: Decoding;
  readonly answers: number;
  readonly tokens: number;
  /** Forward passes of the decode phase (each plain step, each verification). */
  readonly decodeSteps: number;
  /** Forward passes that verified a draft. */
  readonly verifySteps: number;
  readonly draftedTokens: number;
  readonly acceptedTokens: number;
  /** Seconds from the first token to the last, summed over the answers. */
  readonly decodeSeconds: number;
}

export async function runPromptLookupBench(
  options: { location?: string; receipts?: number; log?: (line: string) => void } = {},
): Promise<PromptLookupRun[]> {
  const location = options.location ?? demoModelDir();
  const items = heldOutItems(options.receipts ?? 60).filter((item) => item.task === 'receipt');
  const runs: PromptLookupRun[] = [];
  const answers: number[][][] = [];
  // Untimed warm-up (the JIT, the page cache), so the first mode measured is not also the coldest.
  const warm = Engine.load(location, { scheduler: { speculation: false, prefixCaching: false } });
  await decodeAll(warm, items.slice(0, 10));
  await warm.close();
  for (const [decoding, speculation] of MODES) {
    const engine = Engine.load(location, { scheduler: { speculation, prefixCaching: false } });
    const before: SchedulerStats = engine.stats();
    const { tokens: mine, decodeSeconds } = await decodeAll(engine, items);
    const stats = engine.stats();
    await engine.close();
    const tokens = stats.decodedTokens - before.decodedTokens;
    answers.push(mine);
    const run: PromptLookupRun = {
      decoding,
      answers: items.length,
      tokens,
      decodeSteps: stats.decodeSteps - before.decodeSteps,
      verifySteps: stats.verifySteps,
      draftedTokens: stats.draftedTokens,
      acceptedTokens: stats.acceptedTokens,
      decodeSeconds,
    };
    runs.push(run);
    options.log?.(
      `${decoding}: ${tokens} tokens in ${run.decodeSteps} forward passes, ${(tokens / decodeSeconds).toFixed(0)} tok/s`,
    );
  }
  const same = answers.every((run) => run.every((tokens, i) => tokens.join() === answers[0]![i]!.join()));
  if (!same) throw new Error('prompt lookup changed a greedy answer: it must not');
  return runs;
}

export function formatPromptLookup(runs: readonly PromptLookupRun[]): string[] {
  const plain = runs[0]!;
  const rate = (r: PromptLookupRun) => r.tokens / r.decodeSeconds;
  return [
    `| decoding | tokens | forward passes | verifications | drafted | accepted | acceptance | tok/s | speed-up |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...runs.map(
      (r) =>
        `| ${r.decoding} | ${r.tokens} | ${r.decodeSteps} | ${r.verifySteps} | ${r.draftedTokens} | ${r.acceptedTokens} | ` +
        `${r.draftedTokens ? `${((100 * r.acceptedTokens) / r.draftedTokens).toFixed(1)}%` : '—'} | ` +
        `${rate(r).toFixed(0)} | ${(rate(r) / rate(plain)).toFixed(2)}× |`,
    ),
    '',
    `${plain.answers} held-out receipts extracted as JSON, greedy; every run gave the same tokens.`,
  ];
}

/** Every item's answer, greedy: the tokens, and the seconds from each first token to the last. */
async function decodeAll(engine: Engine, items: readonly DemoItem[]) {
  let decodeSeconds = 0;
  const tokens: number[][] = [];
  for (const item of items) {
    const png = await scenePng(item.scene!);
    const request = validateCompletionRequest({
      model: DEMO_MODEL,
      messages: demoMessages(item, png),
      temperature: 0,
      max_tokens: 160,
    });
    const prompt = await engine.prepare(request);
    let first = 0;
    for await (const event of engine.generate(prompt)) {
      if (event.type === 'text') first ||= performance.now();
      else {
        decodeSeconds += (performance.now() - first) / 1000;
        tokens.push(event.tokens);
      }
    }
  }
  return { tokens, decodeSeconds };
}
