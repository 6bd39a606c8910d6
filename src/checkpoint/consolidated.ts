/** Mistral's release layout: params.json + consolidated.safetensors + tekken.json (spec §2.1). */
import { join } from 'node:path';
import { configFromParams } from './config.js';
import { readJsonObject } from './json-file.js';
import type { LoadedLayout } from './layout.js';
import { SafetensorsFile } from './safetensors.js';

export function openConsolidated(dir: string): LoadedLayout {
  const configFile = join(dir, 'params.json');
  const config = configFromParams(readJsonObject(configFile), configFile);
  const file = SafetensorsFile.open(join(dir, 'consolidated.safetensors'));
  const tokenizerFile = join(dir, 'tekken.json');
  const vision = config.vision;
  return {
    layout: 'consolidated',
    config,
    configFile,
    tokenizerFile,
    // tekken.json's image section normally agrees; the engine cross-checks it against the tokenizer.
    image: vision ? { patchSize: vision.patchSize, maxImageSize: vision.imageSize } : null,
    files: [file],
    locate: (name) => (file.tensors.has(name) ? { file, nameInFile: name } : undefined),
  };
}
