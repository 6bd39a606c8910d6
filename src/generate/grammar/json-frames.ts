/**
 * The parse frames of the incremental JSON validator: each consumes one byte at a time and says whether the
 * byte fits, whether the frame is complete, or whether a container needs a child value started by this byte.
 * Frames are small mutable objects with `clone()`, so trying a token means cloning a short stack.
 */
import { type Frame, isDigit, SPACE, type Step } from './frame.js';
import { FormatFrame } from './formats.js';
import { NumberFrame } from './number-frame.js';
import { ObjectFrame } from './object-frame.js';
import type { SchemaNode } from './schema.js';
import { nodeId } from './node-id.js';
import { join, shortestValue } from './shortest.js';
import { StringFrame } from './string-frame.js';

const QUOTE = 0x22;
const utf8 = new TextEncoder();

/** The frames a value of `schema` starts with when its first byte is `byte` (several for unions). */
export function startValue(schema: SchemaNode, byte: number): Frame[] {
  switch (schema.kind) {
    case 'union':
      return schema.options.flatMap((option) => startValue(option, byte));
    case 'any':
      if (byte === 0x7b)
        return [
          new ObjectFrame({ kind: 'object', properties: new Map(), required: new Set(), additional: schema }),
        ];
      if (byte === 0x5b) return [new ArrayFrame(schema, 0, Infinity)];
      if (byte === QUOTE) return [new StringFrame()];
      if (byte === 0x2d || isDigit(byte)) return [new NumberFrame(false, null, byte)];
      return startLiteral(['true', 'false', 'null'], byte);
    case 'object':
      return byte === 0x7b ? [new ObjectFrame(schema)] : [];
    case 'array':
      return byte === 0x5b ? [new ArrayFrame(schema.items, schema.minItems, schema.maxItems)] : [];
    case 'string':
      return byte === QUOTE ? [new StringFrame(schema.minLength, schema.maxLength)] : [];
    case 'format':
      return byte === QUOTE ? [new FormatFrame(schema.format)] : [];
    case 'number': {
      const frame = NumberFrame.start(schema, byte);
      return frame ? [frame] : [];
    }
    case 'boolean':
      return startLiteral(['true', 'false'], byte);
    case 'null':
      return startLiteral(['null'], byte);
    case 'literals':
      return startLiteral(schema.texts, byte);
  }
}

function startLiteral(texts: readonly string[], byte: number): Frame[] {
  const candidates = texts.map((t) => utf8.encode(t)).filter((t) => t[0] === byte);
  return candidates.length > 0 ? [new LiteralFrame(candidates, 1)] : [];
}

const CANDIDATE_KEYS = new WeakMap<readonly Uint8Array[], string>();

/** One of a set of exact texts (true/false/null, enum and const values), matched byte by byte. */
export class LiteralFrame implements Frame {
  constructor(
    private candidates: readonly Uint8Array[],
    private position: number,
  ) {}
  push(byte: number): Step {
    const fits = this.candidates.filter((c) => c[this.position] === byte);
    if (fits.length === 0) return this.canEnd() ? 'refeed' : 'reject';
    this.candidates = fits;
    this.position++;
    return fits.every((c) => c.length === this.position) ? 'done' : 'ok';
  }
  canEnd(): boolean {
    return this.candidates.some((c) => c.length === this.position);
  }
  key(): string {
    let texts = CANDIDATE_KEYS.get(this.candidates);
    if (texts === undefined)
      CANDIDATE_KEYS.set(this.candidates, (texts = this.candidates.map((c) => c.join(',')).join('|')));
    return `L${this.position}:${texts}`;
  }
  completion(): number[] {
    const shortest = this.candidates.reduce((a, b) => (b.length < a.length ? b : a));
    return [...shortest.subarray(this.position)];
  }
  clone(): Frame {
    return new LiteralFrame(this.candidates, this.position);
  }
}

type ArrayState = 'start' | 'after' | 'item';

export class ArrayFrame implements Frame {
  private state: ArrayState = 'start';
  private count = 0;
  /** Right after `,`: one space may come. */
  private space = false;
  constructor(
    private readonly items: SchemaNode,
    private readonly minItems: number,
    private readonly maxItems: number,
  ) {}
  push(byte: number): Step {
    if (byte === SPACE && this.space) {
      this.space = false;
      return 'ok';
    }
    this.space = false;
    if (this.state !== 'item' && byte === 0x5d) return this.count >= this.minItems ? 'done' : 'reject';
    if (this.state === 'after') {
      if (byte !== 0x2c || this.count >= this.maxItems) return 'reject';
      this.state = 'item';
      this.space = true;
      return 'ok';
    }
    if (this.count >= this.maxItems) return 'reject';
    this.count++;
    this.state = 'after';
    return { spawn: this.items };
  }
  canEnd(): boolean {
    return false;
  }
  key(): string {
    // Past minItems an unbounded array's count no longer matters.
    const count = this.maxItems === Infinity ? Math.min(this.count, this.minItems) : this.count;
    return `A${nodeId(this.items)},${this.minItems},${this.maxItems},${this.state},${count},${+this.space}`;
  }
  /** Items still owed up to minItems (one at least after a comma), then `]`. */
  completion(): number[] {
    const item = shortestValue(this.items);
    const owed =
      this.state === 'item'
        ? Math.max(1, this.minItems - this.count)
        : Math.max(0, this.minItems - this.count);
    const items = Array.from({ length: owed }, () => item);
    const lead = this.state === 'after' && owed > 0 ? [0x2c] : [];
    return [...lead, ...join(items), 0x5d];
  }
  clone(): Frame {
    const copy = new ArrayFrame(this.items, this.minItems, this.maxItems);
    Object.assign(copy, { state: this.state, count: this.count, space: this.space });
    return copy;
  }
}
