/**
 * Choosing the next token (spec §9): logits → control-token mask → presence/frequency penalties → temperature →
 * top-p → draw. Temperature 0 is greedy argmax.
 */
import type { TokenConstraint } from './grammar/token-constraint.js';
import { SeededRandom } from './random.js';

/** Greedy picks tried one by one (next-best each time) before masking the whole vocabulary. */
const GREEDY_ATTEMPTS = 16;

export interface SamplingOptions {
  /** 0 = greedy. */
  readonly temperature: number;
  /** Nucleus mass in (0, 1]. */
  readonly topP: number;
  readonly presencePenalty?: number;
  readonly frequencyPenalty?: number;
  readonly seed?: number;
}

export class Sampler {
  private readonly random: SeededRandom;
  private readonly counts = new Map<number, number>();

  /**
   * @param blocked ids that may never be produced (control tokens other than EOS and, when tools are on,
   *                [TOOL_CALLS]); an empty set lets the model choose from the whole vocabulary.
   */
  constructor(
    private readonly options: SamplingOptions,
    private readonly blocked: ReadonlySet<number> = new Set(),
  ) {
    this.random = new SeededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 32));
  }

  /**
   * Picks a token from logits (which it may modify) and remembers it for the penalties. With a constraint
   * (JSON mode, tool calls) the pick is drawn from the tokens the constraint allows.
   */
  sample(logits: Float32Array, forced?: number, constraint?: TokenConstraint): number {
    const id = forced ?? this.choose(logits, constraint);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    return id;
  }

  private choose(logits: Float32Array, constraint?: TokenConstraint): number {
    for (const id of this.blocked) logits[id] = -Infinity;
    this.applyPenalties(logits);
    const pick = () => (this.options.temperature <= 0 ? argmax(logits) : this.nucleus(logits));
    if (!constraint) return pick();
    // As llama.cpp does with grammars: a reasonable model's own pick usually fits, and checking one token is
    // cheap; only when it does not is the whole vocabulary masked and the pick made again.
    const attempts = this.options.temperature <= 0 ? GREEDY_ATTEMPTS : 1;
    const saved = new Map<number, number>();
    for (let attempt = 0; attempt < attempts; attempt++) {
      const id = pick();
      if (constraint.allows(id)) return id;
      saved.set(id, logits[id]!);
      logits[id] = -Infinity;
    }
    // Sampling draws again from the full distribution restricted to what fits.
    for (const [id, logit] of saved) logits[id] = logit;
    constraint.maskRefused(logits);
    if (!logits.some((v) => v !== -Infinity)) throw new Error('no token satisfies the output constraint');
    return pick();
  }

  private applyPenalties(logits: Float32Array): void {
    const presence = this.options.presencePenalty ?? 0;
    const frequency = this.options.frequencyPenalty ?? 0;
    if (presence === 0 && frequency === 0) return;
    for (const [id, count] of this.counts) logits[id] = logits[id]! - presence - frequency * count;
  }

  private nucleus(logits: Float32Array): number {
    const t = this.options.temperature;
    let max = -Infinity;
    for (const v of logits) if (v > max) max = v;
    // Softmax at temperature t over the tokens that can still be chosen.
    const ids: number[] = [];
    const probs: number[] = [];
    let total = 0;
    for (let i = 0; i < logits.length; i++) {
      if (logits[i] === -Infinity) continue;
      const p = Math.exp((logits[i]! - max) / t);
      if (p === 0) continue;
      ids.push(i);
      probs.push(p);
      total += p;
    }
    const order = ids.map((_, k) => k).sort((a, b) => probs[b]! - probs[a]! || ids[a]! - ids[b]!);
    // Keep the smallest prefix (by probability) whose mass reaches top_p.
    const keep: number[] = [];
    let mass = 0;
    for (const k of order) {
      keep.push(k);
      mass += probs[k]! / total;
      if (mass >= this.options.topP) break;
    }
    let draw = this.random.next() * keep.reduce((s, k) => s + probs[k]!, 0);
    for (const k of keep) {
      draw -= probs[k]!;
      if (draw < 0) return ids[k]!;
    }
    return ids[keep[keep.length - 1]!]!;
  }
}

/** Index of the largest logit; the lowest index wins ties. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}
