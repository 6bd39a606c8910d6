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

type Stack = Frame[];

export class JsonMachine {
  private constructor(private stacks: Stack[]) {}

  static start(schema: SchemaNode): JsonMachine {
    return new JsonMachine([[new RootFrame(schema)]]);
  }

  clone(): JsonMachine {
    return new JsonMachine(this.stacks.map((stack) => stack.map((frame) => frame.clone())));
  }

  /** Feeds one byte; false (leaving the machine unusable) when no parse can take it. */
  push(byte: number): boolean {
    this.stacks = this.stacks.flatMap((stack) => pushStack(stack, byte));
    return this.stacks.length > 0;
  }

  pushBytes(bytes: Uint8Array): boolean {
    for (const byte of bytes) if (!this.push(byte)) return false;
    return true;
  }

  /** The shortest bytes that make the input so far a complete document (over every parse still alive). */
  completion(): Uint8Array {
    let best: number[] | null = null;
    for (const stack of this.stacks) {
      const bytes: number[] = [];
      for (let i = stack.length - 1; i >= 0; i--) bytes.push(...stack[i]!.completion());
      if (!best || bytes.length < best.length) best = bytes;
    }
    return Uint8Array.from(best ?? []);
  }

  /** The state's canonical key (see Frame.key). */
  key(): string {
    return this.stacks.map((stack) => stack.map((frame) => frame.key()).join('/')).join('|');
  }

  /** Whether the input so far is a complete document. */
  get complete(): boolean {
    return this.stacks.some((stack) => stack.every((frame) => frame.canEnd()));
  }
}

function pushStack(stack: Stack, byte: number): Stack[] {
  const top = stack[stack.length - 1];
  if (!top) return [];
  const step = top.push(byte);
  if (step === 'ok') return [stack];
  if (step === 'reject') return [];
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
    const base = i === starts.length - 1 ? stack : stack.map((f) => f.clone());
    base.push(frame);
    return base;
  });
}
