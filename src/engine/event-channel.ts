/**
 * A one-producer, one-consumer async queue: the scheduler pushes a request's events as its steps run, the HTTP
 * handler or CLI consumes them with `for await`. A consumer that stops early (break, disconnect) is reported
 * through `onCancel` so the producer can drop the sequence between steps.
 */
export class EventChannel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private ended = false;
  private failure: unknown = undefined;
  private wake: (() => void) | null = null;
  cancelled = false;

  constructor(private readonly onCancel: () => void) {}

  push(item: T): void {
    if (this.ended) return;
    this.buffer.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = error ?? new Error('generation failed');
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.buffer.length > 0) {
          yield this.buffer.shift()!;
          continue;
        }
        if (this.ended) {
          if (this.failure !== undefined) throw this.failure;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
    } finally {
      if (!this.ended) {
        this.cancelled = true;
        this.onCancel();
      }
    }
  }
}
