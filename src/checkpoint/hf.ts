/**
 * The Hugging Face layout of `mistral-community/pixtral-12b`: config.json, sharded safetensors resolved through
 * model.safetensors.index.json (or a single model.safetensors), tokenizer.json, preprocessor_config.json.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { configFromHf } from './config.js';
import { CheckpointError } from './errors.js';
import { hfNamesFor } from './hf-names.js';
import { readJsonObject } from './json-file.js';
import type { ImageSettings, LoadedLayout } from './layout.js';
import { fileInside } from './model-dir.js';
import { SafetensorsFile } from './safetensors.js';

export function openHf(dir: string): LoadedLayout {
  const configFile = join(dir, 'config.json');
  const config = configFromHf(readJsonObject(configFile), configFile);
  const { files, fileOf } = openShards(dir);
  return {
    layout: 'hf',
    config,
    configFile,
    tokenizerFile: join(dir, 'tokenizer.json'),
    image: config.vision ? readImageSettings(dir, config.vision.patchSize, config.vision.imageSize) : null,
    files,
    locate(name, ropeHeads) {
      for (const candidate of hfNamesFor(name)) {
        const file = fileOf(candidate);
        if (file)
          return { file, nameInFile: candidate, ...(ropeHeads ? { rotateHalfHeads: ropeHeads } : {}) };
      }
      return undefined;
    },
  };
}

function openShards(dir: string) {
  const indexFile = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexFile)) {
    const file = SafetensorsFile.open(join(dir, 'model.safetensors'));
    return { files: [file], fileOf: (name: string) => (file.tensors.has(name) ? file : undefined) };
  }
  const index = readJsonObject(indexFile);
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null)
    throw new CheckpointError(indexFile, 'missing weight_map');
  const byShard = new Map<string, SafetensorsFile>();
  const shardOf = new Map<string, SafetensorsFile>();
  try {
    for (const [tensor, shard] of Object.entries(weightMap)) {
      if (typeof shard !== 'string')
        throw new CheckpointError(indexFile, `weight_map entry for "${tensor}" is not a file name`);
      let file = byShard.get(shard);
      if (!file) {
        file = SafetensorsFile.open(fileInside(dir, shard, indexFile));
        byShard.set(shard, file);
      }
      if (!file.tensors.has(tensor))
        throw new CheckpointError(
          file.path,
          `missing (model.safetensors.index.json says it is here)`,
          tensor,
        );
      shardOf.set(tensor, file);
    }
  } catch (err) {
    for (const file of byShard.values()) file.close();
    throw err;
  }
  return { files: [...byShard.values()], fileOf: (name: string) => shardOf.get(name) };
}

/** preprocessor_config.json's longest_edge/patch_size, when present; otherwise the vision config's sizes. */
function readImageSettings(dir: string, patchSize: number, imageSize: number): ImageSettings {
  const file = join(dir, 'preprocessor_config.json');
  if (!existsSync(file)) return { patchSize, maxImageSize: imageSize };
  const json = readJsonObject(file);
  const size = json.size as { longest_edge?: unknown } | undefined;
  const patch = json.patch_size as { height?: unknown } | number | undefined;
  const longest = typeof size?.longest_edge === 'number' ? size.longest_edge : imageSize;
  const p = typeof patch === 'number' ? patch : typeof patch?.height === 'number' ? patch.height : patchSize;
  if (p !== patchSize)
    throw new CheckpointError(file, `patch_size ${p} disagrees with config.json (${patchSize})`);
  return { patchSize: p, maxImageSize: longest };
}
