/**
 * `pixtral eval --task demo [--model MODEL] [--quant none,q8,q4] [--per-task N] [--plot OUT.png] [--json]`:
 * the demo model's held-out split, answered greedily and scored per question type, at each precision asked for;
 * a table on stdout and, with --plot, a bar chart.
 */
import type { Quantization } from '../../backend/native/native-weight.js';
import { QUANTIZATIONS } from '../../backend/select.js';
import { evaluateDemo, type DemoEvalResult } from '../../demo/evaluate.js';
import { loadModel } from '../../library/model.js';
import { barChartSvg, writeSvgPng } from '../../plot/charts.js';
import { parseCommandArgs } from '../args.js';
import { backendSpec } from '../backend-options.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { MODEL_OPTIONS, modelOrDemo, resolveModelOption } from '../model-option.js';
import { numberOption } from '../options.js';
import { progressBar } from '../progress.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      task: { type: 'string' },
      model: { type: 'string' },
      quant: { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      'per-task': { type: 'string' },
      plot: { type: 'string' },
      json: { type: 'boolean' },
      ...MODEL_OPTIONS,
    },
    { min: 0, max: 0, names: '' },
  );
  if (values.task !== 'demo')
    throw new UsageError('--task must be demo (the held-out split of the demo model)');
  const quants = (values.quant ?? 'none').split(',').map((q) => q.trim()) as Quantization[];
  for (const q of quants)
    if (!QUANTIZATIONS.includes(q))
      throw new UsageError(`--quant takes ${QUANTIZATIONS.join(', ')} (comma-separated), got "${q}"`);
  const { backend, threads } = backendSpec({ backend: values.backend, threads: values.threads });
  const perTask = numberOption(values['per-task'], 'per-task', 60, 1, 10_000);
  const { location } = await resolveModelOption(modelOrDemo(values.model, io), values, io);

  const results: { quant: Quantization; result: DemoEvalResult }[] = [];
  for (const quant of quants) {
    const model = await loadModel(location, {
      ...(backend !== undefined && { backend }),
      quant,
      ...(threads !== undefined && { threads }),
      onWarning: io.err,
    });
    try {
      const progress = progressBar(`eval ${precisionName(quant)}`, io, 'answers');
      results.push({ quant, result: await evaluateDemo(model, { perTask, onProgress: progress.update }) });
      progress.done();
    } finally {
      await model.close();
    }
  }

  if (values.json) io.out(JSON.stringify({ task: 'demo', model: location, perTask, results }));
  else io.out(formatTable(results));
  if (values.plot) {
    const tasks = results[0]!.result.tasks;
    await writeSvgPng(
      barChartSvg({
        title: 'pixtral-demo held-out accuracy',
        categories: tasks.map((t) => t.task),
        series: results.map(({ quant, result }) => ({
          name: precisionName(quant),
          values: result.tasks.map((t) => (100 * t.correct) / t.items),
        })),
        max: 100,
        unit: '%',
      }),
      values.plot,
    );
    io.err(`wrote ${values.plot}`);
  }
  return 0;
}

function precisionName(quant: Quantization): string {
  return quant === 'none' ? 'full' : quant;
}

function formatTable(results: { quant: Quantization; result: DemoEvalResult }[]): string {
  const percent = (n: number, d: number) => `${((100 * n) / d).toFixed(1)}%`;
  const header = ['task', 'items', ...results.map((r) => precisionName(r.quant))];
  const rows = results[0]!.result.tasks.flatMap((task, i) => {
    const row = [
      task.task,
      String(task.items),
      ...results.map((r) => percent(r.result.tasks[i]!.correct, task.items)),
    ];
    if (task.itemsCorrect === undefined) return [row];
    return [
      [`${task.task} total`, ...row.slice(1)],
      [
        `${task.task} all lines`,
        String(task.items),
        ...results.map((r) => percent(r.result.tasks[i]!.itemsCorrect ?? 0, task.items)),
      ],
    ];
  });
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}
