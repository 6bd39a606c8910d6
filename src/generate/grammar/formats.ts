/**
 * String formats as fixed byte patterns. Each is a small regular language chosen so that every string it
 * accepts is valid under the format's usual validators (days 01–28, so no month is ever too short; times
 * in UTC; emails of plain lowercase labels): a constrained answer can always be validated. The patterns are
 * compiled once into DFAs (subset construction over a Thompson NFA) with each state's distance to the end, so
 * a frame is one integer and its shortest completion a walk down the distances.
 */
import type { Frame, Step } from './frame.js';

type ByteSet = (b: number) => boolean;
interface Fragment {
  readonly start: number;
  readonly end: number;
}

/** Thompson construction: states with byte edges and ε edges. */
class Nfa {
  readonly edges: [ByteSet, number][][] = [];
  readonly epsilon: number[][] = [];
  state(): number {
    this.edges.push([]);
    this.epsilon.push([]);
    return this.edges.length - 1;
  }
  chars(set: ByteSet): Fragment {
    const start = this.state();
    const end = this.state();
    this.edges[start]!.push([set, end]);
    return { start, end };
  }
  text(s: string): Fragment {
    return this.seq(...[...s].map((c) => this.chars((b) => b === c.charCodeAt(0))));
  }
  seq(...parts: Fragment[]): Fragment {
    for (let i = 1; i < parts.length; i++) this.epsilon[parts[i - 1]!.end]!.push(parts[i]!.start);
    return { start: parts[0]!.start, end: parts[parts.length - 1]!.end };
  }
  alt(...parts: Fragment[]): Fragment {
    const start = this.state();
    const end = this.state();
    for (const p of parts) {
      this.epsilon[start]!.push(p.start);
      this.epsilon[p.end]!.push(end);
    }
    return { start, end };
  }
  /** `make()` min to max times (max finite). */
  repeat(make: () => Fragment, min: number, max: number): Fragment {
    const parts = Array.from({ length: min }, make);
    for (let i = min; i < max; i++) parts.push(this.optional(make()));
    return parts.length > 0 ? this.seq(...parts) : this.empty();
  }
  optional(f: Fragment): Fragment {
    return this.alt(f, this.empty());
  }
  empty(): Fragment {
    const s = this.state();
    return { start: s, end: s };
  }
  closure(states: Iterable<number>): number[] {
    const seen = new Set(states);
    const todo = [...seen];
    while (todo.length > 0)
      for (const t of this.epsilon[todo.pop()!]!)
        if (!seen.has(t)) {
          seen.add(t);
          todo.push(t);
        }
    return [...seen].sort((a, b) => a - b);
  }
}

/** A DFA over bytes: -1 is the dead state; `distance[s]`: bytes to an accepting state (0 = accepting). */
export class Dfa {
  constructor(
    readonly table: Int32Array,
    readonly distance: Int32Array,
  ) {}
  next(state: number, byte: number): number {
    return this.table[state * 256 + byte]!;
  }
  accepts(state: number): boolean {
    return this.distance[state] === 0;
  }
  /** The shortest bytes from `state` to acceptance (smallest byte at each step). */
  shortest(state: number): number[] {
    const out: number[] = [];
    while (this.distance[state]! > 0)
      for (let b = 0; b < 256; b++) {
        const t = this.next(state, b);
        if (t >= 0 && this.distance[t] === this.distance[state]! - 1) {
          out.push(b);
          state = t;
          break;
        }
      }
    return out;
  }
}

function determinize(nfa: Nfa, whole: Fragment): Dfa {
  const ids = new Map<string, number>();
  const sets: number[][] = [];
  const rows: number[][] = [];
  const intern = (set: number[]) => {
    const key = set.join(',');
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = sets.length));
      sets.push(set);
    }
    return id;
  };
  intern(nfa.closure([whole.start]));
  for (let s = 0; s < sets.length; s++) {
    const row = new Array<number>(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const targets = sets[s]!.flatMap((n) => nfa.edges[n]!.filter(([set]) => set(b)).map(([, to]) => to));
      if (targets.length > 0) row[b] = intern(nfa.closure(targets));
    }
    rows.push(row);
  }
  const table = Int32Array.from(rows.flat());
  // Distances by backward relaxation (the graphs are tiny).
  const distance = new Int32Array(sets.length).fill(1 << 30);
  sets.forEach((set, s) => set.includes(whole.end) && (distance[s] = 0));
  for (let changed = true; changed;) {
    changed = false;
    for (let s = 0; s < sets.length; s++)
      for (let b = 0; b < 256; b++) {
        const t = table[s * 256 + b]!;
        if (t >= 0 && distance[t]! + 1 < distance[s]!) {
          distance[s] = distance[t]! + 1;
          changed = true;
        }
      }
  }
  return new Dfa(table, distance);
}

const range = (lo: string, hi: string): ByteSet => {
  const a = lo.charCodeAt(0);
  const z = hi.charCodeAt(0);
  return (b) => b >= a && b <= z;
};
const digit = range('0', '9');
const alnum: ByteSet = (b) => digit(b) || range('a', 'z')(b);

function datePart(n: Nfa): Fragment {
  const d = () => n.chars(digit);
  const month = n.alt(
    n.seq(n.text('0'), n.chars(range('1', '9'))),
    n.seq(n.text('1'), n.chars(range('0', '2'))),
  );
  const day = n.alt(
    n.seq(n.text('0'), n.chars(range('1', '9'))),
    n.seq(n.text('1'), n.chars(digit)),
    n.seq(n.text('2'), n.chars(range('0', '8'))),
  );
  return n.seq(d(), d(), d(), d(), n.text('-'), month, n.text('-'), day);
}

function timePart(n: Nfa): Fragment {
  const hour = n.alt(
    n.seq(n.chars(range('0', '1')), n.chars(digit)),
    n.seq(n.text('2'), n.chars(range('0', '3'))),
  );
  const sixty = () => n.seq(n.chars(range('0', '5')), n.chars(digit));
  return n.seq(n.text('T'), hour, n.text(':'), sixty(), n.text(':'), sixty(), n.text('Z'));
}

/** Labels of 1–24 lowercase letters/digits: `local[.local]@label[.label].tld`. */
function emailPart(n: Nfa): Fragment {
  const label = () => n.repeat(() => n.chars(alnum), 1, 24);
  const dotted = () => n.seq(label(), n.optional(n.seq(n.text('.'), label())));
  const tld = n.repeat(() => n.chars(range('a', 'z')), 2, 8);
  return n.seq(dotted(), n.text('@'), dotted(), n.text('.'), tld);
}

function build(make: (n: Nfa) => Fragment): Dfa {
  const nfa = new Nfa();
  return determinize(nfa, make(nfa));
}

export const FORMATS = {
  date: () => build(datePart),
  'date-time': () => build((n) => n.seq(datePart(n), timePart(n))),
  email: () => build(emailPart),
} as const;

export type FormatName = keyof typeof FORMATS;

const compiled = new Map<FormatName, Dfa>();

/** The DFA of a format, built on first use. */
export function formatDfa(name: FormatName): Dfa {
  let dfa = compiled.get(name);
  if (!dfa) compiled.set(name, (dfa = FORMATS[name]()));
  return dfa;
}

/** The inside of a string of a format, after its opening quote. */
export class FormatFrame implements Frame {
  private readonly dfa: Dfa;
  constructor(
    private readonly format: FormatName,
    private state = 0,
  ) {
    this.dfa = formatDfa(format);
  }
  push(byte: number): Step {
    if (byte === 0x22) return this.dfa.accepts(this.state) ? 'done' : 'reject';
    const next = this.dfa.next(this.state, byte);
    if (next < 0) return 'reject';
    this.state = next;
    return 'ok';
  }
  canEnd(): boolean {
    return false;
  }
  completion(): number[] {
    return [...this.dfa.shortest(this.state), 0x22];
  }
  key(): string {
    return `F${this.format}${this.state}`;
  }
  clone(): Frame {
    return new FormatFrame(this.format, this.state);
  }
}
