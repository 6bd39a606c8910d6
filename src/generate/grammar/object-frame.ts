/**
 * A JSON object under a schema: keys are matched against the declared properties not yet used (or free when
 * the schema allows undeclared keys), each value is parsed with its property's schema, and `}` is accepted only
 * once every required key has appeared.
 */
import { type Frame, SPACE, type Step, type StringBody } from './frame.js';
import { ANY, type SchemaNode } from './schema.js';
import { nodeId } from './node-id.js';
import { join, shortestMember, shortestValue } from './shortest.js';
import { StringFrame } from './string-frame.js';

type ObjectSchema = Extract<SchemaNode, { kind: 'object' }>;
type ObjectState = 'start' | 'needKey' | 'key' | 'colon' | 'value' | 'after';

const utf8 = new TextEncoder();
const text = new TextDecoder();

const DECLARED = new WeakMap<ObjectSchema, [string, Uint8Array][]>();

/** The declared property names with their UTF-8 bytes, computed once per schema node. */
function declaredKeys(schema: ObjectSchema): [string, Uint8Array][] {
  let keys = DECLARED.get(schema);
  if (!keys) DECLARED.set(schema, (keys = [...schema.properties.keys()].map((k) => [k, utf8.encode(k)])));
  return keys;
}

const shortest = (a: number[], b: number[]) => (b.length < a.length ? b : a);

/** A key's text as written (escapes and all) → the key. */
function decodeKey(key: readonly number[]): string {
  const raw = text.decode(new Uint8Array(key));
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}

export class ObjectFrame implements Frame {
  private state: ObjectState = 'start';
  private seen: Set<string> = new Set();
  private typedKey: number[] = [];
  /** A free key's text so far, checked like any string (escapes, UTF-8). */
  private keyText: StringFrame | null = null;
  /** Right after `:` or `,`: one space may come. */
  private space = false;
  private readonly declared: [string, Uint8Array][];

  constructor(private readonly schema: ObjectSchema) {
    this.declared = declaredKeys(schema);
  }

  private get onlyDeclared(): boolean {
    return this.schema.additional === null;
  }

  private requiredSeen(): boolean {
    for (const k of this.schema.required) if (!this.seen.has(k)) return false;
    return true;
  }

  private keyFits(complete: boolean): boolean {
    if (!this.onlyDeclared) return true;
    const typed = this.typedKey;
    return this.declared.some(
      ([name, bytes]) =>
        !this.seen.has(name) &&
        (complete ? bytes.length === typed.length : bytes.length >= typed.length) &&
        typed.every((b, i) => bytes[i] === b),
    );
  }

  push(byte: number): Step {
    if (this.state === 'key')
      return this.onlyDeclared ? this.pushDeclaredKeyByte(byte) : this.pushFreeKeyByte(byte);
    if (byte === SPACE && this.space) {
      this.space = false;
      return 'ok';
    }
    this.space = false;
    switch (this.state) {
      case 'start':
        if (byte === 0x7d) return this.requiredSeen() ? 'done' : 'reject';
        return this.openKey(byte);
      case 'needKey':
        return this.openKey(byte);
      case 'colon':
        if (byte !== 0x3a) return 'reject';
        this.state = 'value';
        this.space = true;
        return 'ok';
      case 'value': {
        const name = this.decodedKey();
        this.seen.add(name);
        this.typedKey = [];
        this.state = 'after';
        return { spawn: this.schema.properties.get(name) ?? this.schema.additional ?? ANY };
      }
      case 'after':
        if (byte === 0x7d) return this.requiredSeen() ? 'done' : 'reject';
        if (byte !== 0x2c) return 'reject';
        if (this.onlyDeclared && this.declared.every(([name]) => this.seen.has(name))) return 'reject';
        this.state = 'needKey';
        this.space = true;
        return 'ok';
    }
  }

  private openKey(byte: number): Step {
    if (byte !== 0x22) return 'reject';
    this.state = 'key';
    this.typedKey = [];
    this.keyText = this.onlyDeclared ? null : new StringFrame();
    return this.keyFits(false) ? 'ok' : 'reject';
  }

  /** Declared names are matched byte for byte (unescaped). */
  private pushDeclaredKeyByte(byte: number): Step {
    if (byte === 0x22) {
      if (!this.keyFits(true)) return 'reject';
      this.state = 'colon';
      return 'ok';
    }
    if (byte < 0x20 || byte === 0x5c) return 'reject';
    this.typedKey.push(byte);
    return this.keyFits(false) ? 'ok' : 'reject';
  }

  private pushFreeKeyByte(byte: number): Step {
    const step = this.keyText!.push(byte);
    if (step === 'reject') return 'reject';
    if (step === 'done') {
      if (this.seen.has(this.decodedKey())) return 'reject';
      this.state = 'colon';
      this.keyText = null;
      return 'ok';
    }
    this.typedKey.push(byte);
    return 'ok';
  }

  private decodedKey(): string {
    return decodeKey(this.typedKey);
  }

  canEnd(): boolean {
    return false;
  }

  /** A free key being typed: its bytes until the quote are a string's (duplicates only matter at the quote). */
  stringBody(): StringBody | null {
    return this.state === 'key' ? this.keyText : null;
  }

  private valueSchema(name: string): SchemaNode {
    return this.schema.properties.get(name) ?? this.schema.additional ?? ANY;
  }

  /** Members for the required keys not written yet (other than `except`, the one being written). */
  private owed(except: string | null = null): number[][] {
    const members: number[][] = [];
    for (const k of this.schema.required)
      if (!this.seen.has(k) && k !== except) members.push(shortestMember(k, this.valueSchema(k)));
    return members;
  }

  /** The rest of the object after the member `except` is complete: `,` + owed members, then `}`. */
  private tail(except: string | null): number[] {
    return [...this.owed(except).flatMap((m) => [0x2c, ...m]), 0x7d];
  }

  completion(): number[] {
    switch (this.state) {
      case 'start':
        return [...join(this.owed()), 0x7d];
      case 'needKey': {
        const owed = this.owed();
        if (owed.length > 0) return [...join(owed), 0x7d];
        return [...this.freshMember(), 0x7d]; // a comma was written: one more member must follow
      }
      case 'key':
        return this.onlyDeclared ? this.declaredKeyCompletion() : this.freeKeyCompletion();
      case 'colon': {
        const name = this.decodedKey();
        return [0x3a, ...shortestValue(this.valueSchema(name)), ...this.tail(name)];
      }
      case 'value': {
        const name = this.decodedKey();
        return [...shortestValue(this.valueSchema(name)), ...this.tail(name)];
      }
      case 'after':
        return this.tail(null);
    }
  }

  /** The shortest member under a key not used yet. */
  private freshMember(): number[] {
    if (this.onlyDeclared) {
      const unseen = this.declared.filter(([name]) => !this.seen.has(name));
      return unseen.map(([name]) => shortestMember(name, this.valueSchema(name))).reduce(shortest);
    }
    let name = '';
    while (this.seen.has(name)) name += 'a';
    return shortestMember(name, this.valueSchema(name));
  }

  private declaredKeyCompletion(): number[] {
    const typed = this.typedKey;
    const options = this.declared
      .filter(
        ([name, bytes]) =>
          !this.seen.has(name) && bytes.length >= typed.length && typed.every((b, i) => bytes[i] === b),
      )
      .map(([name, bytes]) => [
        ...bytes.subarray(typed.length),
        0x22,
        0x3a,
        ...shortestValue(this.valueSchema(name)),
        ...this.tail(name),
      ]);
    return options.reduce(shortest);
  }

  private freeKeyCompletion(): number[] {
    const closing = this.keyText!.completion(); // ends with the quote
    const pad: number[] = [];
    const name = () => decodeKey([...this.typedKey, ...closing.slice(0, -1), ...pad]);
    while (this.seen.has(name())) pad.push(0x61);
    const full = name();
    return [
      ...closing.slice(0, -1),
      ...pad,
      0x22,
      0x3a,
      ...shortestValue(this.valueSchema(full)),
      ...this.tail(full),
    ];
  }

  /**
   * Which keys were seen matters only for declared and required names (and, while a free key is typed, for
   * the seen keys it could still duplicate), so a free-key object's key does not grow with its members.
   */
  key(): string {
    const schema = this.schema;
    const relevant = [...this.seen].filter((k) => schema.properties.has(k) || schema.required.has(k));
    let typed = '';
    if (this.state === 'key') {
      const bytes = this.typedKey;
      const mayDuplicate =
        this.onlyDeclared ||
        bytes.includes(0x5c) ||
        [...this.seen].some((k) => {
          const seen = utf8.encode(k);
          return seen.length >= bytes.length && bytes.every((b, i) => seen[i] === b);
        });
      typed = mayDuplicate ? `${bytes.join(',')};${[...this.seen].sort().join('\u0000')}` : '';
      typed += `;${this.keyText?.key() ?? ''}`;
    } else if (this.state === 'colon' || this.state === 'value') {
      const name = this.decodedKey();
      typed = `${nodeId(this.valueSchema(name))}${schema.properties.has(name) || schema.required.has(name) ? JSON.stringify(name) : ''}`;
    }
    return `O${nodeId(schema)},${this.state},${+this.space},${relevant.sort().join('\u0000')};${typed}`;
  }

  clone(): Frame {
    const copy = new ObjectFrame(this.schema);
    copy.state = this.state;
    copy.seen = new Set(this.seen);
    copy.typedKey = [...this.typedKey];
    copy.keyText = (this.keyText?.clone() ?? null) as StringFrame | null;
    copy.space = this.space;
    return copy;
  }
}
