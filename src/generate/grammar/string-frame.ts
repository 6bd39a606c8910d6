/**
 * The inside of a JSON string, after its opening quote, counted in characters as JSON Schema counts them
 * (code points). The bytes must be well-formed UTF-8 — a token that splits a character is fine, a stray byte
 * is not — so the count is exact and the text decodes without replacement characters. An escape is one
 * character; `\u` escapes of surrogates are refused (a lone one is not text, and a pair would count as two
 * escapes but one character), which costs nothing since any character can be written as raw UTF-8.
 */
import { type Frame, isDigit, type Step, type StringBody } from './frame.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const isHex = (b: number) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
const ESCAPES = new Set([...'"\\/bfnrtu'].map((c) => c.charCodeAt(0)));

export class StringFrame implements Frame, StringBody {
  private count = 0;
  private escape = false;
  private hexLeft = 0;
  /** After `\uD`: the next hex digit must be 0–7, keeping clear of the surrogates D800–DFFF. */
  private lowHex = false;
  /** Continuation bytes still owed by the current UTF-8 character, and the range the next one must lie in. */
  private utf8Left = 0;
  private lo = 0x80;
  private hi = 0xbf;

  constructor(
    readonly minLength = 0,
    readonly maxLength = Infinity,
  ) {}

  push(byte: number): Step {
    if (this.utf8Left > 0) {
      if (byte < this.lo || byte > this.hi) return 'reject';
      this.utf8Left--;
      this.lo = 0x80;
      this.hi = 0xbf;
      return 'ok';
    }
    if (this.hexLeft > 0) return this.pushHex(byte);
    if (this.escape) {
      this.escape = false;
      if (byte === 0x75) this.hexLeft = 4;
      return ESCAPES.has(byte) ? 'ok' : 'reject';
    }
    if (byte === QUOTE) return this.count >= this.minLength ? 'done' : 'reject';
    if (byte < 0x20) return 'reject';
    // Any other byte starts a character.
    if (this.count >= this.maxLength || !this.startCharacter(byte)) return 'reject';
    this.count++;
    return 'ok';
  }

  private pushHex(byte: number): Step {
    if (!isHex(byte) || (this.lowHex && byte > 0x37)) return 'reject';
    this.lowHex = this.hexLeft === 4 && (byte === 0x44 || byte === 0x64);
    this.hexLeft--;
    return 'ok';
  }

  /** Whether `byte` may begin a character (ASCII, `\`, or a UTF-8 lead byte, whose continuation it notes). */
  private startCharacter(byte: number): boolean {
    if (byte === BACKSLASH) this.escape = true;
    else if (byte < 0x80) return true;
    else if (byte >= 0xc2 && byte <= 0xdf) this.utf8Left = 1;
    else if (byte >= 0xe0 && byte <= 0xef) {
      this.utf8Left = 2;
      if (byte === 0xe0) this.lo = 0xa0; // no overlong forms
      if (byte === 0xed) this.hi = 0x9f; // no surrogates
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      this.utf8Left = 3;
      if (byte === 0xf0) this.lo = 0x90;
      if (byte === 0xf4) this.hi = 0x8f; // nothing above U+10FFFF
    } else return false;
    return true;
  }

  canEnd(): boolean {
    return false;
  }

  /** Finish the pending character (lowest continuation, `n`, `0`s), pad to minLength with `a`, close. */
  completion(): number[] {
    const out: number[] = [];
    if (this.utf8Left > 0) out.push(this.lo, ...new Array<number>(this.utf8Left - 1).fill(0x80));
    if (this.escape) out.push(0x6e);
    out.push(...new Array<number>(this.hexLeft).fill(0x30));
    out.push(...new Array<number>(Math.max(0, this.minLength - this.count)).fill(0x61));
    out.push(QUOTE);
    return out;
  }

  get length(): number {
    return this.count;
  }

  get room(): number {
    return this.maxLength - this.count;
  }

  subState(): string {
    return `${+this.escape}${this.hexLeft}${+this.lowHex}${this.utf8Left},${this.lo},${this.hi}`;
  }

  probe(): StringFrame {
    return this.copyInto(new StringFrame(), 0);
  }

  stringBody(): StringBody {
    return this;
  }

  key(): string {
    const need = Math.max(0, this.minLength - this.count);
    const room = this.maxLength - this.count;
    return `S${need},${room},${this.subState()}`;
  }

  clone(): Frame {
    return this.copyInto(new StringFrame(this.minLength, this.maxLength), this.count);
  }

  private copyInto(copy: StringFrame, count: number): StringFrame {
    copy.count = count;
    copy.escape = this.escape;
    copy.hexLeft = this.hexLeft;
    copy.lowHex = this.lowHex;
    copy.utf8Left = this.utf8Left;
    copy.lo = this.lo;
    copy.hi = this.hi;
    return copy;
  }
}
