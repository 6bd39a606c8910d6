/**
 * `pixtral bench --synthetic 12b [--quant q4|q8] [--threads N] [--layers N] [--vision-layers N] [--tests LIST]
 * [--kernels LEVEL]`: the real 12B architecture with random weights, measured next to llama.cpp's recorded figures;
 * with `--llamacpp DIR [--rounds N]`, next to llama.cpp itself run from that build on the same weights, in turns
 * (`--quant q4_k_m`: both engines on one llama-quantize Q4_K_M file); `--gguf FILE` measures a GGUF text model.
 * `pixtral bench --prompt-lookup [--model DIR]`: prompt-lookup decoding on the demo model's receipt extraction.
 */
import {
  ALL_TESTS,
  formatComparison,
  runSyntheticBench,
  type TestName,
} from '../../devtools/benchmark/synthetic-12b.js';
import { parseCommandArgs } from '../args.js';
import { WEIGHT_MEMORIES, type WeightMemory } from '../../backend/native/weight-memory.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { numberOption } from '../options.js';
import { kernelsOption, kvCacheOption } from '../backend-options.js';
import {
  COMPARABLE_TESTS,
  type ComparableTest,
  type ComparedQuant,
  DEFAULT_COMPARISON,
  formatSideBySide,
  runSideBySide,
} from '../../devtools/benchmark/side-by-side.js';
import { formatPromptLookup, runPromptLookupBench } from '../../devtools/benchmark/prompt-lookup.js';

function weightMemoryOption(value: string): WeightMemory {
  if (!(WEIGHT_MEMORIES as readonly string[]).includes(value))
    throw new UsageError(`--weights must be ${WEIGHT_MEMORIES.join(' or ')}, got "${value}"`);
  return value as WeightMemory;
}

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      synthetic: { type: 'string' },
      quant: { type: 'string' },
      threads: { type: 'string' },
      layers: { type: 'string' },
      'vision-layers': { type: 'string' },
      tests: { type: 'string' },
      'kv-cache': { type: 'string' },
      json: { type: 'boolean' },
      'prompt-lookup': { type: 'boolean' },
      model: { type: 'string' },
      kernels: { type: 'string' },
      llamacpp: { type: 'string' },
      rounds: { type: 'string' },
      gguf: { type: 'string' },
      weights: { type: 'string' },
    },
    { min: 0, max: 0, names: '' },
  );
  if (values['prompt-lookup']) {
    const runs = await runPromptLookupBench({
      ...(values.model !== undefined && { location: values.model }),
      log: (line) => io.err(`bench: ${line}`),
    });
    io.out(values.json ? JSON.stringify(runs, null, 2) : formatPromptLookup(runs).join('\n'));
    return 0;
  }
  if (values.synthetic !== '12b')
    throw new UsageError('--synthetic 12b or --prompt-lookup: the benchmarks this command runs');
  const quant = values.quant ?? 'q4';
  const sideBySide = values.llamacpp !== undefined;
  if (quant !== 'q4' && quant !== 'q8' && !(sideBySide && quant === 'q4_k_m'))
    throw new UsageError(sideBySide ? '--quant must be q4, q8 or q4_k_m' : '--quant must be q4 or q8');
  const kernels = values.kernels !== undefined ? kernelsOption(values.kernels) : undefined;
  const known: readonly string[] = values.llamacpp !== undefined ? COMPARABLE_TESTS : ALL_TESTS;
  const tests = values.tests
    ? values.tests.split(',').map((t) => t.trim().replace(/\^2/g, '²'))
    : [...(values.llamacpp !== undefined ? DEFAULT_COMPARISON : ALL_TESTS)];
  for (const t of tests)
    if (!known.includes(t)) throw new UsageError(`unknown test "${t}" (have: ${known.join(', ')})`);
  const layers = numberOption(values.layers, 'layers', 40, 1, 40);
  const visionLayers = numberOption(values['vision-layers'], 'vision-layers', 24, 1, 24);
  const log = (line: string) => io.err(`bench: ${line}`);
  if (values.llamacpp !== undefined) {
    const report = await runSideBySide({
      llamaDir: values.llamacpp,
      rounds: numberOption(values.rounds, 'rounds', 3, 1, 100),
      threads: numberOption(values.threads, 'threads', 2, 1, 256),
      quant: quant as ComparedQuant,
      layers,
      visionLayers,
      tests: tests as ComparableTest[],
      ...(kernels && { kernels }),
      log,
    });
    io.out(values.json ? JSON.stringify(report, null, 2) : formatSideBySide(report).join('\n'));
    return 0;
  }
  const rows = await runSyntheticBench({
    quant: quant as 'q4' | 'q8',
    ...(values.gguf !== undefined && { gguf: values.gguf }),
    ...(values.weights !== undefined && { weightMemory: weightMemoryOption(values.weights) }),
    layers,
    visionLayers,
    ...(values.threads !== undefined && { threads: numberOption(values.threads, 'threads', 2, 1, 256) }),
    ...(kernels && { kernels }),
    tests: tests as TestName[],
    ...(values['kv-cache'] && { kvCache: kvCacheOption(values['kv-cache']) }),
    log,
  });
  if (values.json) io.out(JSON.stringify(rows, null, 2));
  else io.out(formatComparison(rows, quant as 'q4' | 'q8', layers, visionLayers).join('\n'));
  return 0;
}
