/** Writes small Mistral-layout model folders with random weights, for shapes the shared fixture lacks. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyntheticWeights, type TextConfig, writeSafetensors } from '../../src/checkpoint/index.js';

/** A text-only model (no vision encoder); its tokenizer is a link to `tekkenFile`. */
export function writeTextModel(dir: string, text: TextConfig, tekkenFile: string): string {
  mkdirSync(dir, { recursive: true });
  const params = {
    dim: text.dim,
    n_layers: text.nLayers,
    head_dim: text.headDim,
    hidden_dim: text.hiddenDim,
    n_heads: text.nHeads,
    n_kv_heads: text.nKvHeads,
    rope_theta: text.ropeTheta,
    norm_eps: text.normEps,
    vocab_size: text.vocabSize,
  };
  writeFileSync(join(dir, 'params.json'), JSON.stringify(params, null, 2));
  const weights = new SyntheticWeights({ text, vision: null, maxContext: 4096 });
  writeSafetensors(
    join(dir, 'consolidated.safetensors'),
    weights.names().map((name) => weights.readRaw(name)),
  );
  symlinkSync(tekkenFile, join(dir, 'tekken.json'));
  return dir;
}

/** A tiny text config whose matmul widths are all multiples of 32, unless overridden. */
export function textConfig(overrides: Partial<TextConfig> = {}): TextConfig {
  return {
    dim: 64,
    nLayers: 1,
    headDim: 16,
    hiddenDim: 96,
    nHeads: 4,
    nKvHeads: 2,
    ropeTheta: 1e6,
    normEps: 1e-5,
    vocabSize: 1024,
    ...overrides,
  };
}
