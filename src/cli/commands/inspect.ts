/** `pixtral inspect MODEL_DIR | FILE.gguf`: what a model folder or GGUF file holds, without loading any weights. */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint } from '../../checkpoint/index.js';
import { QUANTIZED_FILE, QuantizedCheckpoint } from '../../checkpoint/quantized.js';
import { GgufError, type GgufFile, readGguf } from '../../checkpoint/gguf/gguf-file.js';
import { UsageError } from '../errors.js';
import { parseCommandArgs } from '../args.js';
import { formatBytes, formatCount } from '../format.js';
import type { CliIO } from '../io.js';
import { MODEL_OPTIONS, resolveModelOption } from '../model-option.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { json: { type: 'boolean' }, ...MODEL_OPTIONS },
    { min: 1, max: 1, names: 'MODEL_DIR' },
  );
  if (positionals[0]!.toLowerCase().endsWith('.gguf')) {
    // With --mmproj, both files of the pair: the text model's metadata, then the projector's.
    const files = [positionals[0]!, ...(values.mmproj !== undefined ? [values.mmproj] : [])];
    const summaries = files.map((path) => ggufSummary(path));
    if (values.json) io.out(JSON.stringify(summaries.length === 1 ? summaries[0] : summaries, null, 2));
    else io.out(summaries.map(ggufLines).join('\n\n'));
    return 0;
  }
  const { location } = await resolveModelOption(positionals[0]!, values, io);
  if (QuantizedCheckpoint.isQuantizedDir(location)) return inspectQuantized(location, values.json, io);
  const checkpoint = Checkpoint.open(location);
  try {
    const summary = {
      dir: checkpoint.dir,
      layout: checkpoint.layout,
      config_file: checkpoint.configFile,
      tokenizer_file: checkpoint.tokenizerFile,
      parameters: checkpoint.parameterCount(),
      dtypes: checkpoint.dtypes(),
      weight_bytes: checkpoint.weightBytes(),
      tensors: checkpoint.names().length,
      image: checkpoint.image,
      config: checkpoint.config,
    };
    if (values.json) {
      io.out(JSON.stringify(summary, null, 2));
      return 0;
    }
    const { text, vision } = checkpoint.config;
    const lines = [
      `model      ${summary.dir}`,
      `layout     ${summary.layout === 'hf' ? 'Hugging Face (config.json + safetensors shards)' : 'Mistral consolidated (params.json + consolidated.safetensors)'}`,
      `tokenizer  ${summary.tokenizer_file}`,
      `parameters ${formatCount(summary.parameters)} in ${summary.tensors} tensors`,
      `dtype      ${summary.dtypes.join(', ')}`,
      `size       ${formatBytes(summary.weight_bytes)}`,
      `decoder    dim ${text.dim}, ${text.nLayers} layers, ${text.nHeads} heads / ${text.nKvHeads} kv heads × ${text.headDim}, ffn ${text.hiddenDim}, vocab ${text.vocabSize}, rope θ ${text.ropeTheta}, eps ${text.normEps}`,
      vision
        ? `vision     hidden ${vision.hiddenSize}, ${vision.nLayers} layers, ${vision.nHeads} heads × ${vision.headDim}, ffn ${vision.intermediateSize}, patch ${vision.patchSize}, max image ${vision.imageSize}px, rope θ ${vision.ropeTheta}`
        : 'vision     none (text-only model)',
      `context    up to ${summary.config.maxContext} tokens`,
    ];
    io.out(lines.join('\n'));
    return 0;
  } finally {
    checkpoint.close();
  }
}

/** A folder written by `pixtral quantize`: its quantization, size and config. */
function inspectQuantized(dir: string, json: boolean | undefined, io: CliIO): number {
  const checkpoint = QuantizedCheckpoint.open(dir);
  try {
    const names = checkpoint.names();
    const parameters = names.reduce(
      (n, name) => n + checkpoint.info(name).shape.reduce((a, b) => a * b, 1),
      0,
    );
    const bytes = statSync(join(checkpoint.dir, QUANTIZED_FILE)).size;
    const summary = {
      dir: checkpoint.dir,
      layout: 'quantized',
      quantization: checkpoint.quantization,
      tokenizer_file: checkpoint.tokenizerFile,
      parameters,
      file_bytes: bytes,
      tensors: names.length,
      image: checkpoint.image,
      config: checkpoint.config,
    };
    if (json) io.out(JSON.stringify(summary, null, 2));
    else
      io.out(
        [
          `model      ${summary.dir}`,
          `layout     quantized by pixtral quantize (${summary.quantization} matmul weights, memory-mappable)`,
          `tokenizer  ${summary.tokenizer_file}`,
          `parameters ${formatCount(parameters)} in ${names.length} tensors`,
          `size       ${formatBytes(bytes)}`,
          `decoder    dim ${summary.config.text.dim}, ${summary.config.text.nLayers} layers, vocab ${summary.config.text.vocabSize}`,
          `context    up to ${summary.config.maxContext} tokens`,
        ].join('\n'),
      );
    return 0;
  } finally {
    checkpoint.close();
  }
}

/** A GGUF file: its metadata (long arrays summarised) and tensors by type. */
interface GgufSummary {
  readonly file: string;
  readonly version: number;
  readonly tensors: number;
  readonly bytes: number;
  readonly types: Record<string, { tensors: number; bytes: number }>;
  readonly metadata: Record<string, unknown>;
}

function ggufSummary(path: string): GgufSummary {
  let file: GgufFile;
  try {
    file = readGguf(path);
  } catch (err) {
    if (err instanceof GgufError) throw new UsageError(err.message);
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${path}: no such file`);
    throw err;
  }
  const metadata = Object.fromEntries(
    [...file.metadata].map(([key, entry]) => {
      const value = entry.value;
      if (Array.isArray(value) && value.length > 8) return [key, `[${value.length} × ${typeof value[0]}]`];
      return [key, typeof value === 'bigint' ? value.toString() : value];
    }),
  );
  const byType = new Map<string, { tensors: number; bytes: number }>();
  for (const t of file.tensors) {
    const row = byType.get(t.type.name) ?? { tensors: 0, bytes: 0 };
    byType.set(t.type.name, { tensors: row.tensors + 1, bytes: row.bytes + t.bytes });
  }
  return {
    file: path,
    version: file.version,
    tensors: file.tensors.length,
    bytes: file.fileBytes,
    types: Object.fromEntries(byType),
    metadata,
  };
}

function ggufLines(summary: GgufSummary): string {
  return [
    `file       ${summary.file} (GGUF v${summary.version}, ${formatBytes(summary.bytes)})`,
    `tensors    ${summary.tensors}: ${Object.entries(summary.types)
      .map(([type, row]) => `${row.tensors} ${type} (${formatBytes(row.bytes)})`)
      .join(', ')}`,
    ...Object.entries(summary.metadata).map(([key, value]) => `${key.padEnd(40)} ${JSON.stringify(value)}`),
  ].join('\n');
}
