/**
 * Tokenizer encoding speed on a few MB of mixed text, one core. The first pass starts with a cold piece cache;
 * later passes show the steady state a long-running server sees.
 */
import { Tokenizer } from '../../tokenizer/index.js';
import { loadBundledTekken } from '../../tokenizer/tekken-file.js';
import { mixedText } from './corpus.js';

export async function run(args: string[]): Promise<void> {
  const sizeMb = Number(args.find((a) => a.startsWith('--mb='))?.slice(5) ?? 4);
  const text = mixedText(sizeMb * 1024 * 1024);
  const megabytes = Buffer.byteLength(text) / 1e6;

  let started = performance.now();
  const tokenizer = new Tokenizer(loadBundledTekken());
  const loadMs = performance.now() - started;

  const rates: number[] = [];
  let tokens = 0;
  for (let pass = 0; pass < 4; pass++) {
    started = performance.now();
    tokens = tokenizer.encode(text).length;
    rates.push(megabytes / ((performance.now() - started) / 1000));
  }
  started = performance.now();
  const ids = tokenizer.encode(text);
  const decoded = tokenizer.decode(ids);
  const decodeRate = megabytes / ((performance.now() - started) / 1000);
  if (decoded !== text) throw new Error('benchmark text did not round-trip');

  const sorted = rates.slice(1).sort((a, b) => a - b);
  console.log(
    `tokenizer benchmark — ${megabytes.toFixed(2)} MB mixed text, ${tokens.toLocaleString('en-US')} tokens, 1 thread`,
  );
  console.log(`  vocabulary load          ${loadMs.toFixed(0)} ms`);
  console.log(`  encode, cold cache       ${rates[0]!.toFixed(2)} MB/s`);
  console.log(`  encode, warm (median)    ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} MB/s`);
  console.log(`  encode+decode round trip ${decodeRate.toFixed(2)} MB/s`);
  console.log(`  target                   ≥ 5 MB/s`);
}
