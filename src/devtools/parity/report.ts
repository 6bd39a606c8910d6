/** Outcome lines of a parity run: one per check, then `N passed, N failed, N skipped`. */
export type Outcome = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  readonly outcome: Outcome;
  readonly name: string;
  /** The error figure or the reason: "max_abs 1.2e-05 ≤ 5e-04", "exact (18 ids)", "first diff at 3: …". */
  readonly detail: string;
}

export class ParityReport {
  readonly results: CheckResult[] = [];

  constructor(private readonly print: (line: string) => void) {}

  add(result: CheckResult): void {
    this.results.push(result);
    this.print(`${result.outcome.toUpperCase().padEnd(4)} ${result.name}: ${result.detail}`);
  }

  pass(name: string, detail: string): void {
    this.add({ outcome: 'pass', name, detail });
  }

  fail(name: string, detail: string): void {
    this.add({ outcome: 'fail', name, detail });
  }

  skip(name: string, detail: string): void {
    this.add({ outcome: 'skip', name, detail });
  }

  /** Runs one check; an exception inside it is a failure of that check, not of the run. */
  check(name: string, body: () => CheckResult | string): void {
    try {
      this.record(name, body());
    } catch (err) {
      this.fail(name, (err as Error).message);
    }
  }

  async checkAsync(name: string, body: () => Promise<CheckResult | string>): Promise<void> {
    try {
      this.record(name, await body());
    } catch (err) {
      this.fail(name, (err as Error).message);
    }
  }

  private record(name: string, result: CheckResult | string): void {
    if (typeof result === 'string') this.pass(name, result);
    else this.add({ ...result, name });
  }

  count(outcome: Outcome): number {
    return this.results.filter((r) => r.outcome === outcome).length;
  }

  summary(): string {
    const skipped = this.count('skip');
    return (
      `${this.count('pass')} passed, ${this.count('fail')} failed` + (skipped ? `, ${skipped} skipped` : '')
    );
  }
}

/** Compares id lists exactly; returns the result with a readable first difference. */
export function compareIds(actual: readonly number[], expected: readonly number[]): CheckResult {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i])
      return {
        outcome: 'fail',
        name: '',
        detail: `first difference at index ${i}: got ${actual[i] ?? '(end)'}, expected ${expected[i] ?? '(end)'} (lengths ${actual.length} vs ${expected.length})`,
      };
  }
  return { outcome: 'pass', name: '', detail: `exact (${expected.length} ids)` };
}

/** Max-abs comparison of float arrays against a tolerance. */
export function compareFloats(actual: Float32Array, expected: Float32Array, tolerance: number): CheckResult {
  if (actual.length !== expected.length)
    return { outcome: 'fail', name: '', detail: `length ${actual.length}, expected ${expected.length}` };
  let maxAbs = 0;
  let at = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= maxAbs)) {
      maxAbs = d;
      at = i;
      if (Number.isNaN(d)) break;
    }
  }
  const ok = maxAbs <= tolerance;
  return {
    outcome: ok ? 'pass' : 'fail',
    name: '',
    detail:
      `max_abs ${maxAbs.toExponential(2)} ${ok ? '≤' : '>'} ${tolerance.toExponential(1)}` +
      (ok ? '' : ` (at index ${at})`),
  };
}

export function maxAbs(values: Float32Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return m;
}
