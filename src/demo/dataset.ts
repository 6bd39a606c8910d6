/**
 * The demo model's questions and answers: one item = a scene, a question in one of several wordings, the answer
 * the model is trained to give and the truth it is scored against. Items come from fixed seeds, so the training
 * set and the held-out set are the same on every machine, and the training set skips every picture that is in
 * the held-out set.
 */
import { SeededRandom } from '../generate/random.js';
import {
  between,
  COLOUR_NAMES,
  formatCents,
  pick,
  randomPair,
  randomReceipt,
  randomShapes,
  randomText,
  receiptTotalCents,
  type Colour,
  type ReceiptLine,
  type Scene,
  type ShapeKind,
  type Side,
} from './scenes.js';

// New tasks go at the end: a task's place in this list seeds its held-out items.
export const DEMO_TASKS = ['count', 'colour', 'position', 'text', 'receipt', 'greeting', 'shapes'] as const;
export type DemoTask = (typeof DEMO_TASKS)[number];

export type DemoTruth =
  | { task: 'count'; count: number }
  | { task: 'colour'; colours: Colour[] }
  | { task: 'position'; kind: ShapeKind; colour: Colour; side: Side }
  | { task: 'text'; text: string }
  | { task: 'receipt'; items: ReceiptLine[]; totalCents: number }
  | { task: 'greeting' }
  | { task: 'shapes'; shapes: { colour: Colour; kind: ShapeKind }[] };

export interface DemoItem {
  task: DemoTask;
  /** The picture, or null for a text-only question. */
  scene: Scene | null;
  question: string;
  /** What the model is trained to answer. */
  answer: string;
  truth: DemoTruth;
}

const COUNT_QUESTIONS = [
  'How many shapes are there?',
  'How many shapes do you see?',
  'Count the shapes.',
  'How many shapes are in this image?',
  'What is the number of shapes in the picture?',
  'How many objects are there?',
];
const COLOUR_QUESTIONS = [
  'What colour is the shape?',
  'What color is it?',
  'What colours do you see?',
  'Which colors are the shapes?',
  'What colours are in this image?',
  'List the colours of the shapes.',
];
const WHICH_QUESTIONS = [
  'Which shape is {at}?',
  'What is {at}?',
  'What shape is {at}?',
  'Which one is {at}?',
];
const WHERE_QUESTIONS = [
  'Where is the {colour} {kind}?',
  'Where is the {kind}?',
  'On which side is the {kind}?',
  'Where is the {colour} shape?',
];
const SHAPES_QUESTIONS = [
  'What shape is this?',
  'What shapes do you see?',
  'Name the shapes.',
  'Describe the shapes in the picture.',
  'What kind of shapes are these?',
  'Which shapes are there?',
];
const TEXT_QUESTIONS = [
  'What is written on the image?',
  'What does it say?',
  'Read the text in this picture.',
  'What word or number is shown?',
  'What is the big text?',
  'What does the image say?',
];
const RECEIPT_QUESTIONS = [
  'Extract the items and total as JSON.',
  'Return the items and the total of this receipt as JSON.',
  "Give me this receipt's line items and total in JSON.",
  'Read the receipt and output JSON with the items and the total.',
  'Convert this receipt to JSON.',
];
const GREETINGS = [
  'Hello!',
  'Hi',
  'Hi there!',
  'Hello, who are you?',
  'Who are you?',
  'What can you do?',
  'Good morning!',
  'Hey',
];
export const GREETING_ANSWER =
  'Hello! I am Pixtral demo, a tiny vision model. Show me an image and ask me about its shapes, colours, text or receipt.';

const AT: Record<Side, string> = {
  left: 'on the left',
  right: 'on the right',
  top: 'at the top',
  bottom: 'at the bottom',
};

function countItem(rng: SeededRandom): DemoItem {
  const count = between(rng, 1, 6);
  const scene = randomShapes(rng, count);
  const answer = count === 1 ? 'There is 1 shape.' : `There are ${count} shapes.`;
  return {
    task: 'count',
    scene,
    question: pick(rng, COUNT_QUESTIONS),
    answer,
    truth: { task: 'count', count },
  };
}

/** The scene's shapes from left to right. */
function leftToRight(scene: Scene & { type: 'shapes' }) {
  return [...scene.shapes].sort((a, b) => a.x - b.x);
}

/** Colours in the order they appear from left to right, each once. */
function coloursLeftToRight(scene: Scene & { type: 'shapes' }): Colour[] {
  const seen: Colour[] = [];
  for (const s of leftToRight(scene)) if (!seen.includes(s.colour)) seen.push(s.colour);
  return seen;
}

function listWords(words: readonly string[]): string {
  return words.length === 1 ? words[0]! : `${words.slice(0, -1).join(', ')} and ${words.at(-1)}`;
}

function colourItem(rng: SeededRandom): DemoItem {
  const count = between(rng, 1, 3);
  const palette = rng.next() < 0.3 ? [pick(rng, COLOUR_NAMES)] : COLOUR_NAMES;
  const scene = randomShapes(rng, count, palette);
  const colours = coloursLeftToRight(scene);
  const answer =
    colours.length > 1
      ? `I see ${listWords(colours)}.`
      : count === 1
        ? `The shape is ${colours[0]}.`
        : `The shapes are ${colours[0]}.`;
  return {
    task: 'colour',
    scene,
    question: pick(rng, COLOUR_QUESTIONS),
    answer,
    truth: { task: 'colour', colours },
  };
}

function positionItem(rng: SeededRandom): DemoItem {
  const axis = rng.next() < 0.5 ? 'horizontal' : 'vertical';
  const scene = randomPair(rng, axis);
  const index = between(rng, 0, 1);
  const shape = scene.shapes[index]!;
  const side: Side =
    axis === 'horizontal' ? (index === 0 ? 'left' : 'right') : index === 0 ? 'top' : 'bottom';
  const question =
    rng.next() < 0.5
      ? pick(rng, WHICH_QUESTIONS).replace('{at}', AT[side])
      : pick(rng, WHERE_QUESTIONS).replace('{colour}', shape.colour).replace('{kind}', shape.kind);
  const answer = `The ${shape.colour} ${shape.kind} is ${AT[side]}.`;
  return {
    task: 'position',
    scene,
    question,
    answer,
    truth: { task: 'position', kind: shape.kind, colour: shape.colour, side },
  };
}

/** Every shape named by colour and kind, left to right: the skill "which shape is where" builds on. */
function shapesItem(rng: SeededRandom): DemoItem {
  const scene = randomShapes(rng, between(rng, 1, 3));
  const shapes = leftToRight(scene).map(({ colour, kind }) => ({ colour, kind }));
  const named = shapes.map(({ colour, kind }) => `${/^[aeiou]/.test(colour) ? 'an' : 'a'} ${colour} ${kind}`);
  const answer = shapes.length === 1 ? `It is ${named[0]}.` : `I see ${listWords(named)}.`;
  return {
    task: 'shapes',
    scene,
    question: pick(rng, SHAPES_QUESTIONS),
    answer,
    truth: { task: 'shapes', shapes },
  };
}

function textItem(rng: SeededRandom): DemoItem {
  const scene = randomText(rng);
  return {
    task: 'text',
    scene,
    question: pick(rng, TEXT_QUESTIONS),
    answer: `It says ${scene.text}.`,
    truth: { task: 'text', text: scene.text },
  };
}

/** The JSON a receipt answer is: compact with one space after ':' and ',', prices as printed. */
export function receiptJson(items: readonly ReceiptLine[], totalCents: number): string {
  const lines = items.map((item) => `{"name": "${item.name}", "price": ${formatCents(item.cents)}}`);
  return `{"items": [${lines.join(', ')}], "total": ${formatCents(totalCents)}}`;
}

function receiptItem(rng: SeededRandom): DemoItem {
  const scene = randomReceipt(rng);
  const totalCents = receiptTotalCents(scene);
  return {
    task: 'receipt',
    scene,
    question: pick(rng, RECEIPT_QUESTIONS),
    answer: receiptJson(scene.items, totalCents),
    truth: { task: 'receipt', items: scene.items, totalCents },
  };
}

function greetingItem(rng: SeededRandom): DemoItem {
  return {
    task: 'greeting',
    scene: null,
    question: pick(rng, GREETINGS),
    answer: GREETING_ANSWER,
    truth: { task: 'greeting' },
  };
}

const MAKERS: Record<DemoTask, (rng: SeededRandom) => DemoItem> = {
  count: countItem,
  colour: colourItem,
  position: positionItem,
  text: textItem,
  receipt: receiptItem,
  greeting: greetingItem,
  shapes: shapesItem,
};

type TrainingMix = readonly (readonly [DemoTask, number])[];

/** The fine-tune's mix (and the polish's, which continues it at a lower rate): adds the "shapes" questions —
 *  naming each shape's colour and kind, which position answers need too — and weights position, shapes and count
 *  up, keeping receipts and text at shares that do not let them slip. */
const FINETUNE_MIX: TrainingMix = [
  ['count', 0.17],
  ['colour', 0.06],
  ['position', 0.3],
  ['shapes', 0.17],
  ['text', 0.1],
  ['receipt', 0.18],
  ['greeting', 0.02],
];

/**
 * Each stage of training/demo/train.sh: how often each task appears, and the block of seeds its pictures are
 * drawn from. The base run learns everything with receipts weighted up most (reading them is learned late in the
 * run, and a run that ended it short never caught up later), then position and text; the fine-tune and polish add
 * the "shapes" questions; the last stage weights position up again. Every stage draws its own pictures: when they
 * shared one seed sequence, two thirds of the fine-tune's position pictures and nine in ten of its counting and
 * receipt pictures were ones the first stage had already trained on, and the later stages mostly re-learned them.
 */
export const TRAINING_STAGES = {
  base: {
    firstSeed: 0,
    mix: [
      ['count', 0.15],
      ['colour', 0.09],
      ['position', 0.2],
      ['text', 0.17],
      ['receipt', 0.36],
      ['greeting', 0.03],
    ],
  },
  finetune: { firstSeed: 1_000_000, mix: FINETUNE_MIX },
  polish: { firstSeed: 2_000_000, mix: FINETUNE_MIX },
  // The last stage: position, the type the fine-tune leaves furthest from its target (the model must pick out the
  // shape a question names), weighted up; counting and the rest kept in view.
  reposition: {
    firstSeed: 3_000_000,
    mix: [
      ['count', 0.15],
      ['colour', 0.05],
      ['position', 0.45],
      ['shapes', 0.15],
      ['text', 0.06],
      ['receipt', 0.12],
      ['greeting', 0.02],
    ],
  },
} as const satisfies Record<string, { firstSeed: number; mix: TrainingMix }>;
export type TrainingStage = keyof typeof TRAINING_STAGES;

export function demoItem(task: DemoTask, seed: number): DemoItem {
  return MAKERS[task](new SeededRandom(seed));
}

/** What identifies a picture: two items with the same key show the same image. */
export function sceneKey(scene: Scene): string {
  return JSON.stringify(scene);
}

const HELD_OUT_SEED = 0x5eed0000;
const TRAIN_SEED = 0x7a110000;

/** The held-out split: `perTask` items of every task that has a picture, plus a few greetings. */
export function heldOutItems(perTask = 60): DemoItem[] {
  const items: DemoItem[] = [];
  DEMO_TASKS.forEach((task, t) => {
    const n = task === 'greeting' ? 8 : perTask;
    for (let i = 0; i < n; i++) items.push(demoItem(task, HELD_OUT_SEED + t * 100_000 + i));
  });
  return items;
}

/** A stage's training items `from`..`from+count-1`, drawn by its mix from its seeds; pictures of the held-out set
 *  are skipped. */
export function* trainingItems(
  count: number,
  from = 0,
  heldOut = heldOutItems(),
  stage: TrainingStage = 'base',
): Generator<DemoItem> {
  const { firstSeed, mix } = TRAINING_STAGES[stage];
  const excluded = new Set(heldOut.flatMap((item) => (item.scene ? [sceneKey(item.scene)] : [])));
  for (let i = from, made = 0; made < count; i++) {
    const rng = new SeededRandom(TRAIN_SEED + firstSeed + i);
    let r = rng.next();
    const task = mix.find(([, weight]) => (r -= weight) < 0)?.[0] ?? 'receipt';
    const item = MAKERS[task](rng);
    if (item.scene && excluded.has(sceneKey(item.scene))) continue;
    made++;
    yield item;
  }
}
