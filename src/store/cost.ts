/**
 * Request cost. Money is kept as integer nano-dollars (1e-9 USD) so sums in the ledger are exact; at $1 per
 * million tokens one token costs exactly 1000 nano-dollars, so realistic prices never need rounding at all.
 */
import type { Prices } from './types.js';

const NANO_PER_USD = 1e9;

/** `cachedTokens` (part of `promptTokens`) are billed at the cached-input price, the input price unless set. */
export function costNanoUsd(
  promptTokens: number,
  completionTokens: number,
  prices: Prices,
  cachedTokens = 0,
): number {
  const cachedPrice = prices.cachedInputPerMillion ?? prices.inputPerMillion;
  return Math.round(
    (promptTokens - cachedTokens) * prices.inputPerMillion * 1000 +
      cachedTokens * cachedPrice * 1000 +
      completionTokens * prices.outputPerMillion * 1000,
  );
}

/** The nearest double to the exact dollar amount (division of an integer below 2^53 is correctly rounded). */
export function nanoToUsd(nanoUsd: number): number {
  return nanoUsd / NANO_PER_USD;
}
