/**
 * The synthetic benchmark model as llama.cpp reads it: the same random weights (SyntheticWeights, same seed) written
 * as GGUF by our exporter, cached in the temporary folder like the quantized copy our side runs. Text tests get a
 * text-only file; vision tests a one-layer text model (llama-mtmd-cli needs one to start) and an F16 mmproj, as
 * llama.cpp's own converter ships the vision tower.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PixtralConfig } from '../../checkpoint/config.js';
import { readGguf } from '../../checkpoint/gguf/gguf-file.js';
import { exportGguf } from '../../checkpoint/gguf/gguf-export.js';
import { ggufName } from '../../checkpoint/gguf/pixtral-names.js';
import { SyntheticWeights } from '../../checkpoint/synthetic.js';
import type { WeightSource } from '../../checkpoint/weight-source.js';
import { bundledTekkenPath } from '../../tokenizer/tekken-file.js';

export type LlamaQuant = 'q4_0' | 'q8_0';

export interface SyntheticGguf {
  readonly text: string;
  readonly mmproj: string | null;
}

/** A short name for a model shape, so differently shaped models never share a cache folder. */
export function shapeKey(config: PixtralConfig): string {
  const t = config.text;
  const v = config.vision;
  return `${t.dim}d${t.nLayers}L${t.hiddenDim}f${t.vocabSize}v` + (v ? `-${v.hiddenSize}d${v.nLayers}V` : '');
}

/** The text part alone (no mmproj written). */
function textOnly(source: WeightSource): WeightSource {
  return {
    config: { ...source.config, vision: null },
    names: () => source.names().filter((name) => ggufName(name)?.part === 'text'),
    info: (name) => source.info(name),
    readRaw: (name) => source.readRaw(name),
  };
}

/**
 * The GGUF files for `config` (text-only, or with its vision tower as an F16 mmproj), written on first use. The
 * folder is filled under another name and renamed when complete, so an interrupted write is never reused.
 */
export function syntheticGguf(
  config: PixtralConfig,
  type: LlamaQuant,
  onProgress: (done: number, total: number) => void,
): SyntheticGguf {
  const withVision = config.vision !== null && config.vision !== undefined;
  const dir = join(tmpdir(), `pixtral-synthetic-gguf-${shapeKey(config)}-${type}`);
  const files = {
    text: join(dir, `model-${type.toUpperCase()}.gguf`),
    mmproj: withVision ? join(dir, 'mmproj-F16.gguf') : null,
  };
  if (existsSync(files.text)) return files;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  const weights = new SyntheticWeights(config);
  try {
    exportGguf(withVision ? weights : textOnly(weights), bundledTekkenPath(), partial, {
      type,
      mmprojType: 'f16',
      name: `pixtral-synthetic-${shapeKey(config)}`,
      onProgress,
    });
  } catch (err) {
    rmSync(partial, { recursive: true, force: true }); // gigabytes for the 12B: never left behind
    throw err;
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return files;
}

/** Bytes of weights a decode step reads from a text GGUF: every text tensor but the embedding table. */
export function ggufDecodeBytes(textFile: string): number {
  return readGguf(textFile)
    .tensors.filter((t) => t.name !== 'token_embd.weight')
    .reduce((sum, t) => sum + t.bytes, 0);
}
