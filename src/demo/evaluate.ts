/**
 * `pixtral eval --task demo`: the held-out split asked of a model, greedy, and scored per task — the numbers
 * the demo model's README table and thresholds come from.
 */
import type { Model } from '../library/model.js';
import { DEMO_TASKS, heldOutItems, type DemoItem, type DemoTask } from './dataset.js';
import { scenePng } from './render.js';
import { scoreAnswer } from './score.js';

export interface TaskAccuracy {
  task: DemoTask;
  items: number;
  correct: number;
  /** Receipts: items whose every line was right as well as the total. */
  itemsCorrect?: number;
}

export interface DemoEvalResult {
  tasks: TaskAccuracy[];
  /** Answers that were wrong, for a look. */
  mistakes: { task: DemoTask; question: string; expected: string; answer: string }[];
}

export interface DemoEvalOptions {
  /** Held-out items per task (at most 60 are defined by the split's seeds; more just continues them). */
  perTask?: number;
  /** Requests in flight at once (the engine batches them). */
  concurrency?: number;
  /** Called after each answer. */
  onProgress?: (done: number, total: number) => void;
}

/** Enough for the longest answer (a 4-line receipt is ~90 tokens). */
const MAX_ANSWER_TOKENS = 160;

export async function evaluateDemo(model: Model, options: DemoEvalOptions = {}): Promise<DemoEvalResult> {
  const items = heldOutItems(options.perTask ?? 60);
  const answers = new Array<string>(items.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      answers[i] = await askDemo(model, items[i]!);
      options.onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));

  const tasks = new Map<DemoTask, TaskAccuracy>(
    DEMO_TASKS.map((task) => [task, { task, items: 0, correct: 0 }]),
  );
  const mistakes: DemoEvalResult['mistakes'] = [];
  items.forEach((item, i) => {
    const score = scoreAnswer(item, answers[i]!);
    const row = tasks.get(item.task)!;
    row.items++;
    if (score.correct) row.correct++;
    if (score.itemsCorrect !== undefined)
      row.itemsCorrect = (row.itemsCorrect ?? 0) + (score.itemsCorrect ? 1 : 0);
    if (!score.correct)
      mistakes.push({ task: item.task, question: item.question, expected: item.answer, answer: answers[i]! });
  });
  return { tasks: [...tasks.values()], mistakes };
}

/** One item's question, answered greedily. */
export async function askDemo(model: Model, item: DemoItem): Promise<string> {
  const png = item.scene ? await scenePng(item.scene) : null;
  return model
    .chat({
      messages: item.question,
      ...(png && { images: [png] }),
      temperature: 0,
      maxTokens: MAX_ANSWER_TOKENS,
    })
    .text();
}
