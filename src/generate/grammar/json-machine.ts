/**
 * An incremental validator for JSON text under a schema, fed one byte at a time: it knows at every point
 * whether the bytes so far can still become a valid document and whether they already are one. Unions are
 * followed as parallel parse stacks; a stack that rejects a byte is dropped.
 */
import type { Frame, Step } from './frame.js';
import { startValue } from './json-frames.js';
import type { SchemaNode } from './schema.js';
import { nodeId } from './node-id.js';
import { shortestValue } from './shortest.js';

/** The document itself: one value from the first byte on, then nothing. */
class RootFrame implements Frame {
  constructor(
    private readonly schema: SchemaNode,
    private started = false,
  ) {}
  push(): Step {
    if (this.started) return 'reject';
    this.started = true;
    return { spawn: this.schema };
  }
  canEnd(): boolean {
    return this.started;
  }
  completion(): number[] {
    return this.started ? [] : [...shortestValue(this.schema)];
  }
  key(): string {
    return this.started ? 'R' : `R${nodeId(this.schema)}`;
  }
  clone(): Frame {
    return new RootFrame(this.schema, this.started);
  }
}

/**
 * One parse: its frames bottom to top. Clones share frames copy-on-write — the lowest `shared` frames may be
 * referenced by another stack too, so one is cloned before it is changed — which makes cloning a machine
 * (once per token tried, once per trie edge in a mask walk) a copy of a few pointers and at most one frame.
 */
class Stack {
  constructor(
    readonly frames: Frame[],
    public shared: number,
  ) {}

  /** A copy sharing every frame; this stack now shares them too. */
  fork(): Stack {
    this.shared = this.frames.length;
    return new Stack(this.frames.slice(), this.frames.length);
  }

  /** The top frame, owned by this stack (cloned first when it is shared). */
  ownTop(): Frame | undefined {
    const top = this.frames.length - 1;
    if (top < 0) return undefined;
    if (top < this.shared) {
      this.frames[top] = this.frames[top]!.clone();
      this.shared = top;
    }
    return this.frames[top];
  }

  pop(): void {
    this.frames.pop();
    if (this.shared > this.frames.length) this.shared = this.frames.length;
  }
}

export class JsonMachine {
  private constructor(private stacks: Stack[]) {}

  static start(schema: SchemaNode): JsonMachine {
    return new JsonMachine([new Stack([new RootFrame(schema)], 0)]);
  }

  clone(): JsonMachine {
    return new JsonMachine(this.stacks.map((stack) => stack.fork()));
  }

  /** The top frame when exactly one parse is alive (for masks that know a frame's language). */
  soleTop(): Frame | undefined {
    return this.stacks.length === 1 ? this.stacks[0]!.frames.at(-1) : undefined;
  }

  /** Feeds one byte; false (leaving the machine unusable) when no parse can take it. */
  push(byte: number): boolean {
    const stacks = this.stacks;
    if (stacks.length === 1) {
      // The common case, without flatMap's allocations.
      const next = pushStack(stacks[0]!, byte);
      if (next.length !== 1) this.stacks = next;
      return next.length > 0;
    }
    this.stacks = stacks.flatMap((stack) => pushStack(stack, byte));
    return this.stacks.length > 0;
  }

  pushBytes(bytes: Uint8Array): boolean {
    for (const byte of bytes) if (!this.push(byte)) return false;
    return true;
  }

  /** The shortest bytes that make the input so far a complete document (over every parse still alive). */
  completion(): Uint8Array {
    let best: number[] | null = null;
    for (const { frames } of this.stacks) {
      const bytes: number[] = [];
      for (let i = frames.length - 1; i >= 0; i--) bytes.push(...frames[i]!.completion());
      if (!best || bytes.length < best.length) best = bytes;
    }
    return Uint8Array.from(best ?? []);
  }

  /** The state's canonical key (see Frame.key). */
  key(): string {
    return this.stacks.map(({ frames }) => frames.map((frame) => frame.key()).join('/')).join('|');
  }

  /** Whether the input so far is a complete document. */
  get complete(): boolean {
    return this.stacks.some(({ frames }) => frames.every((frame) => frame.canEnd()));
  }
}

const NONE: Stack[] = [];

function pushStack(stack: Stack, byte: number): Stack[] {
  const top = stack.ownTop();
  if (!top) return NONE;
  const step = top.push(byte);
  if (step === 'ok') return [stack];
  if (step === 'reject') return NONE;
  if (step === 'done') {
    stack.pop();
    return [stack];
  }
  if (step === 'refeed') {
    stack.pop();
    return pushStack(stack, byte);
  }
  const starts = startValue(step.spawn, byte);
  return starts.map((frame, i) => {
    const base = i === starts.length - 1 ? stack : stack.fork();
    base.frames.push(frame);
    return base;
  });
}
