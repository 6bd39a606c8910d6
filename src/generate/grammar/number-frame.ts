/**
 * A JSON number, byte by byte, and integer bounds enforced digit by digit: a digit is accepted only while
 * some integer within [minimum, maximum] still starts with the digits so far, so the number can always be
 * finished inside the bounds.
 */
import { type Frame, isDigit, type Step } from './frame.js';
import type { SchemaNode } from './schema.js';

type NumberState = 'minus' | 'zero' | 'int' | 'dot' | 'frac' | 'e' | 'esign' | 'exp';
const NUMBER_ACCEPTS: ReadonlySet<NumberState> = new Set(['zero', 'int', 'frac', 'exp']);
const MAX_NUMBER_BYTES = 40;
const MINUS = 0x2d;

/** [minimum, maximum] of an integer schema (either side may be open). */
export class IntegerBounds {
  private constructor(
    readonly minimum: bigint | null,
    readonly maximum: bigint | null,
  ) {}

  static of(schema: Extract<SchemaNode, { kind: 'number' }>): IntegerBounds | null {
    if (schema.minimum === null && schema.maximum === null) return null;
    return new IntegerBounds(schema.minimum, schema.maximum);
  }

  holds(value: bigint): boolean {
    return (
      (this.minimum === null || value >= this.minimum) && (this.maximum === null || value <= this.maximum)
    );
  }

  /**
   * Whether some integer in bounds is written as `-`? + `digits` + up to `room` more digits (none after a
   * lone 0). The magnitudes with k more digits form one interval, so each k is one intersection test.
   */
  reachable(negative: boolean, digits: string, room: number): boolean {
    return this.closest(negative, digits, room) !== null;
  }

  /** The in-bounds completion with the fewest added digits (null: none), as the digits to append. */
  closest(negative: boolean, digits: string, room: number): string | null {
    if (digits === '0') return this.holds(0n) ? '' : null;
    for (let k = digits === '' ? 1 : 0; k <= room; k++) {
      const scale = 10n ** BigInt(k);
      const base = digits === '' ? 0n : BigInt(digits) * scale;
      // Magnitudes: digits followed by k digits (no leading zero unless the number is 0 itself).
      const low = digits === '' ? (k === 1 ? 0n : scale / 10n) : base;
      const high = base + scale - 1n;
      let lo = negative ? -high : low;
      let hi = negative ? -low : high;
      if (this.minimum !== null && this.minimum > lo) lo = this.minimum;
      if (this.maximum !== null && this.maximum < hi) hi = this.maximum;
      if (lo > hi) continue;
      // The value nearest zero in the overlap, written out.
      const value = negative ? hi : lo;
      const magnitude = (value < 0n ? -value : value).toString();
      return magnitude.slice(digits.length);
    }
    return null;
  }
}

export class NumberFrame implements Frame {
  private state: NumberState;
  /** Digits of a bounded integer so far (unbounded numbers do not keep them). */
  private digits = '';
  private negative = false;

  constructor(
    private readonly integer: boolean,
    private readonly bounds: IntegerBounds | null,
    first: number,
    private length = 1,
  ) {
    this.state = first === MINUS ? 'minus' : first === 0x30 ? 'zero' : 'int';
    this.negative = first === MINUS;
    if (first !== MINUS) this.digits = String.fromCharCode(first);
  }

  /** The frame for a number starting with `byte`, or null when no allowed number starts so. */
  static start(schema: Extract<SchemaNode, { kind: 'number' }>, byte: number): NumberFrame | null {
    if (byte !== MINUS && !isDigit(byte)) return null;
    const frame = new NumberFrame(schema.integer, IntegerBounds.of(schema), byte);
    return frame.inBounds() ? frame : null;
  }

  private inBounds(): boolean {
    return this.bounds?.reachable(this.negative, this.digits, MAX_NUMBER_BYTES - this.length) ?? true;
  }

  push(byte: number): Step {
    const next = this.next(byte);
    if (next !== null && this.length < MAX_NUMBER_BYTES) {
      const before = this.digits;
      if (this.bounds) this.digits += String.fromCharCode(byte);
      this.length++;
      if (this.inBounds()) {
        this.state = next;
        return 'ok';
      }
      this.digits = before;
      this.length--;
    }
    return this.canEnd() ? 'refeed' : 'reject';
  }

  private next(b: number): NumberState | null {
    const digit = isDigit(b);
    switch (this.state) {
      case 'minus':
        return b === 0x30 ? 'zero' : digit ? 'int' : null;
      case 'zero':
      case 'int':
        if (digit) return this.state === 'zero' ? null : 'int';
        if (this.integer) return null;
        return b === 0x2e ? 'dot' : b === 0x65 || b === 0x45 ? 'e' : null;
      case 'dot':
        return digit ? 'frac' : null;
      case 'frac':
        return digit ? 'frac' : b === 0x65 || b === 0x45 ? 'e' : null;
      case 'e':
        return b === 0x2b || b === MINUS ? 'esign' : digit ? 'exp' : null;
      case 'esign':
      case 'exp':
        return digit ? 'exp' : null;
    }
  }

  canEnd(): boolean {
    if (!NUMBER_ACCEPTS.has(this.state)) return false;
    return !this.bounds || this.bounds.holds(BigInt(this.negative ? `-${this.digits}` : this.digits));
  }

  completion(): number[] {
    if (this.bounds) {
      if (this.state !== 'minus' && this.state !== 'zero' && this.state !== 'int') return []; // never: integers
      const rest = this.bounds.closest(this.negative, this.digits, MAX_NUMBER_BYTES - this.length) ?? '';
      return [...rest].map((c) => c.charCodeAt(0));
    }
    return this.state === 'minus' || this.state === 'dot' || this.state === 'e' || this.state === 'esign'
      ? [0x30]
      : [];
  }

  key(): string {
    const bounds = this.bounds
      ? `${this.bounds.minimum},${this.bounds.maximum},${+this.negative}${this.digits}`
      : '';
    return `N${+this.integer}${this.state}${this.length}${bounds}`;
  }

  clone(): Frame {
    const copy = new NumberFrame(this.integer, this.bounds, 0x31, this.length);
    copy.state = this.state;
    copy.digits = this.digits;
    copy.negative = this.negative;
    return copy;
  }
}
