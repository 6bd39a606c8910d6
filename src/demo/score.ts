/** Is a demo answer right? Each task's answer is read the way a person would check it, not matched verbatim. */
import type { DemoItem } from './dataset.js';
import { COLOUR_NAMES, SHAPE_KINDS } from './scenes.js';

export interface Score {
  correct: boolean;
  /** Receipts only: every item name and price right too (the headline receipt score is the total). */
  itemsCorrect?: boolean;
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function firstNumber(text: string): number | null {
  const m = /\b(\d+|zero|one|two|three|four|five|six|seven|eight|nine)\b/i.exec(text);
  if (!m) return null;
  const word = NUMBER_WORDS.indexOf(m[1]!.toLowerCase());
  return word >= 0 ? word : Number(m[1]);
}

function wordsOf(text: string, vocabulary: readonly string[]): string[] {
  const found: string[] = text.toLowerCase().match(/[a-z]+/g) ?? [];
  return vocabulary.filter((w) => found.includes(w));
}

const SIDES = ['left', 'right', 'top', 'bottom'];

export function scoreAnswer({ truth }: DemoItem, answer: string): Score {
  switch (truth.task) {
    case 'count':
      return { correct: firstNumber(answer) === truth.count };
    case 'colour': {
      const said = wordsOf(answer, COLOUR_NAMES);
      return {
        correct: said.length === truth.colours.length && truth.colours.every((c) => said.includes(c)),
      };
    }
    case 'position': {
      const sides = wordsOf(answer, SIDES);
      const kinds = wordsOf(answer, SHAPE_KINDS);
      return {
        correct:
          sides.length === 1 && sides[0] === truth.side && kinds.length === 1 && kinds[0] === truth.kind,
      };
    }
    case 'text': {
      const said = /says\s+(\S+?)\.?\s*$/i.exec(answer.trim())?.[1] ?? answer.trim();
      return { correct: said.toUpperCase() === truth.text };
    }
    case 'receipt': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(answer);
      } catch {
        return { correct: false, itemsCorrect: false };
      }
      const receipt = parsed as { items?: { name?: unknown; price?: unknown }[]; total?: unknown };
      const cents = (v: unknown) => (typeof v === 'number' ? Math.round(v * 100) : NaN);
      const itemsCorrect =
        Array.isArray(receipt.items) &&
        receipt.items.length === truth.items.length &&
        truth.items.every(
          (item, i) =>
            receipt.items![i]?.name === item.name && cents(receipt.items![i]?.price) === item.cents,
        );
      return { correct: cents(receipt.total) === truth.totalCents, itemsCorrect };
    }
    case 'greeting':
      return { correct: /pixtral/i.test(answer) };
    case 'shapes': {
      // Every "<colour> <kind>" the answer names, as a multiset against the picture's shapes.
      const words = answer.toLowerCase().match(/[a-z]+/g) ?? [];
      const said = words
        .flatMap((colour, i) =>
          COLOUR_NAMES.includes(colour as never) && SHAPE_KINDS.includes(words[i + 1] as never)
            ? [`${colour} ${words[i + 1]}`]
            : [],
        )
        .sort();
      const truthSaid = truth.shapes.map(({ colour, kind }) => `${colour} ${kind}`).sort();
      return { correct: said.join('|') === truthSaid.join('|') };
    }
  }
}
