/**
 * Stop strings on streamed text: text is released only once it can no longer be the beginning of a stop string,
 * so a client never sees part of a stop sequence; on a match the output is cut right before it.
 */
export class StopStringMatcher {
  private pending = '';

  constructor(private readonly stops: readonly string[]) {}

  /** Adds decoded text; returns what is safe to emit and whether a stop string was completed. */
  push(text: string): { emit: string; stopped: boolean } {
    this.pending += text;
    let cut = -1;
    for (const stop of this.stops) {
      const at = this.pending.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      const emit = this.pending.slice(0, cut);
      this.pending = '';
      return { emit, stopped: true };
    }
    const hold = this.holdback();
    const emit = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { emit, stopped: false };
  }

  /** Whatever was held back, at the end of generation. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** Length of the longest suffix of pending text that is a proper prefix of some stop string. */
  private holdback(): number {
    let hold = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, this.pending.length); n > hold; n--) {
        if (this.pending.endsWith(stop.slice(0, n))) {
          hold = n;
          break;
        }
      }
    }
    return hold;
  }
}
