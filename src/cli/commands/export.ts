/**
 * `pixtral export --gguf MODEL OUT_DIR [--type f32|f16|bf16|q8_0|q4_0]`: writes a model as llama.cpp's GGUF pair —
 * `model-<TYPE>.gguf` and `mmproj-<TYPE>.gguf` — with its tekken.json, so `--model OUT_DIR` loads it here and
 * llama.cpp runs exactly the same weights. Without --type the source precision is kept (a round trip is exact).
 */
import { Checkpoint } from '../../checkpoint/index.js';
import { GgufCheckpoint, isGgufModel } from '../../checkpoint/gguf/pixtral-gguf.js';
import { EXPORT_TYPES, type ExportType, exportGguf } from '../../checkpoint/gguf/gguf-export.js';
import { QuantizedCheckpoint } from '../../checkpoint/quantized.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes } from '../format.js';
import type { CliIO } from '../io.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';
import { progressBar } from '../progress.js';
import { statSync } from 'node:fs';
import { basename } from 'node:path';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { gguf: { type: 'boolean' }, type: { type: 'string' }, ...MODEL_OPTIONS },
    { min: 2, max: 2, names: 'MODEL OUT_DIR' },
  );
  if (!values.gguf) throw new UsageError('say the format: --gguf (the one export format)');
  const type = values.type?.toLowerCase();
  if (type !== undefined && !(EXPORT_TYPES as readonly string[]).includes(type))
    throw new UsageError(`--type must be ${EXPORT_TYPES.join(', ')}, got "${values.type}"`);
  const [name, outDir] = positionals as [string, string];
  const location = (await resolveModelOption(name, values, io)).location;
  if (QuantizedCheckpoint.isQuantizedDir(location))
    throw new UsageError(`${location} is a pixtral-quantized copy; export the original model folder`);
  const source = isGgufModel(location) ? GgufCheckpoint.open(location) : Checkpoint.open(location);
  const progress = progressBar('exporting to GGUF', io);
  try {
    const written = exportGguf(source, source.tokenizerFile, outDir, {
      ...(type && { type: type as ExportType }),
      name: basename(location),
      onProgress: progress.update,
    });
    progress.done();
    for (const file of written) io.out(`${file}: ${formatBytes(statSync(file).size)}`);
    return 0;
  } finally {
    source.close();
  }
}
