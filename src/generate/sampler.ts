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
  private weights: Float64Array | null = null;

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
    this.record(id);
    return id;
  }

  /** Remembers a produced token for the penalties (`sample` does it; a caller that overrides `choose` must). */
  record(id: number): void {
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Picks a token without remembering it. */
  choose(logits: Float32Array, constraint?: TokenConstraint): number {
    for (const id of this.blocked) logits[id] = -Infinity;
    this.applyPenalties(logits);
    if (!constraint) return this.options.temperature <= 0 ? argmax(logits) : this.nucleus(logits);
    if (this.options.temperature > 0) {
      // A reasonable model's own pick usually fits, and checking one token is cheap. When it does not, the
      // draw is made again from the same weights restricted to what fits (no second softmax). Always this
      // way, cached mask or not, so a seeded answer does not depend on what the mask cache holds.
      const id = this.nucleus(logits);
      if (constraint.allows(id)) return id;
      constraint.maskRefused(logits);
      return this.redraw(logits) ?? this.pickAllowed(logits);
    }
    // Greedy wants the best allowed token: a cached mask gives it at once; otherwise, as llama.cpp does with
    // grammars, the next best is tried a few times before the whole vocabulary is searched.
    if (constraint.maskIfCached(logits)) return this.pickAllowed(logits);
    const saved = new Map<number, number>();
    for (let attempt = 0; attempt < GREEDY_ATTEMPTS; attempt++) {
      const id = argmax(logits);
      if (constraint.allows(id)) return id;
      saved.set(id, logits[id]!);
      logits[id] = -Infinity;
    }
    for (const [id, logit] of saved) logits[id] = logit;
    constraint.maskRefused(logits);
    return this.pickAllowed(logits);
  }

  /** A pick from masked logits. */
  private pickAllowed(logits: Float32Array): number {
    if (!logits.some((v) => v !== -Infinity)) throw new Error('no token satisfies the output constraint');
    return this.options.temperature <= 0 ? argmax(logits) : this.nucleus(logits);
  }

  /**
   * The last softmax's weights with the now-refused tokens zeroed, drawn from (top-p over what remains); null
   * when what remains is too small a share to be exact in float64 (then the caller recomputes the softmax).
   */
  private redraw(logits: Float32Array): number | null {
    const weights = this.weights!;
    let total = 0;
    for (let i = 0; i < logits.length; i++)
      if (logits[i] === -Infinity) weights[i] = 0;
      else total += weights[i]!;
    return total > 1e-280 ? this.drawWeighted(weights, total) : null;
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
    // Softmax weights at temperature t over the tokens that can still be chosen (one buffer per sampler).
    if (this.weights?.length !== logits.length) this.weights = new Float64Array(logits.length);
    const weights = this.weights;
    let total = 0;
    for (let i = 0; i < logits.length; i++)
      total += weights[i] = logits[i] === -Infinity ? 0 : Math.exp((logits[i]! - max) / t);
    return this.drawWeighted(weights, total);
  }

  private drawWeighted(weights: Float64Array, total: number): number {
    const keep = this.options.topP >= 1 ? null : nucleusIds(weights, total * this.options.topP);
    if (!keep) return draw(weights, total, this.random.next());
    const kept = keep.reduce((s, id) => s + weights[id]!, 0);
    let target = this.random.next() * kept;
    for (const id of keep) {
      target -= weights[id]!;
      if (target < 0) return id;
    }
    return keep[keep.length - 1]!;
  }
}

/** Draws an id with probability weight/total, walking ids in order (no sort needed without top-p). */
function draw(weights: Float64Array, total: number, random: number): number {
  let target = random * total;
  let last = 0;
  for (let id = 0; id < weights.length; id++) {
    if (weights[id] === 0) continue;
    last = id;
    target -= weights[id]!;
    if (target < 0) return id;
  }
  return last;
}

/**
 * The nucleus: the smallest set of most likely ids (ties: lower id first) whose weight reaches `mass`, in
 * that order. Only ids above a falling weight cutoff are sorted — they are a prefix of the full order, so once
 * their weight reaches `mass` the nucleus lies among them — instead of sorting the whole vocabulary per token.
 */
function nucleusIds(weights: Float64Array, mass: number): number[] {
  for (let cutoff = 2 ** -8; ; cutoff /= 256) {
    const candidates: number[] = [];
    let sum = 0;
    const floor = cutoff < 1e-300 ? 0 : cutoff;
    for (let id = 0; id < weights.length; id++) {
      const w = weights[id]!;
      if (w > 0 && w >= floor) {
        candidates.push(id);
        sum += w;
      }
    }
    if (sum < mass && floor > 0) continue;
    candidates.sort((a, b) => weights[b]! - weights[a]! || a - b);
    const keep: number[] = [];
    let acc = 0;
    for (const id of candidates) {
      keep.push(id);
      acc += weights[id]!;
      if (acc >= mass) break;
    }
    return keep;
  }
}

/** Index of the largest logit; the lowest index wins ties. */
export function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
  return best;
}
