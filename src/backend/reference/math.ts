/** Scalar functions the reference backend needs and JavaScript's Math lacks. */

/** erf(x) to ~1e-15: Taylor series near zero, continued fraction for erfc in the tails. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const value = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -value : value;
  }
  if (ax > 6) return x < 0 ? -1 : 1;
  // erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …)))), evaluated bottom-up.
  let fraction = ax;
  for (let k = 60; k >= 1; k--) fraction = ax + k / 2 / fraction;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / fraction;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
