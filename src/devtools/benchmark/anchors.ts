/**
 * llama.cpp's figures for Pixtral-12B shapes (random weights, 2 threads), from ../shared/anchors/llamacpp
 * (measured on a 2-vCPU AMD Zen 4 VM with ≈34 GB/s of memory bandwidth). Estimated entries are marked.
 */
export interface Anchor {
  readonly value: number;
  readonly unit: 'tok/s' | 's' | 'GB';
  readonly note?: string;
}

export const LLAMACPP_ANCHORS: Readonly<Record<string, Readonly<Record<'q4' | 'q8', Anchor | undefined>>>> = {
  pp512: { q4: { value: 12.22, unit: 'tok/s' }, q8: { value: 9.98, unit: 'tok/s' } },
  pp4096: { q4: { value: 10.26, unit: 'tok/s' }, q8: { value: 8.4, unit: 'tok/s', note: 'estimated' } },
  'tg32@0': { q4: { value: 4.97, unit: 'tok/s' }, q8: { value: 2.82, unit: 'tok/s' } },
  'tg32@4096': {
    q4: { value: 2.2, unit: 'tok/s', note: 'estimated' },
    q8: { value: 1.4, unit: 'tok/s', note: 'estimated' },
  },
  'vision 512²': { q4: { value: 5.97, unit: 's' }, q8: { value: 5.97, unit: 's' } },
  'vision 1024²': { q4: { value: 41.6, unit: 's' }, q8: { value: 41.6, unit: 's' } },
  'peak RSS': {
    q4: { value: 6.99, unit: 'GB', note: '-mmp 0' },
    q8: { value: 12.8, unit: 'GB', note: '-mmp 0' },
  },
};
