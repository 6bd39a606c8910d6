/** The demo trainer's loss log (training/demo/results/loss.json) → a PNG curve: total and per task, log scale. */
import { readFileSync } from 'node:fs';
import { lineChartSvg, writeSvgPng } from '../../plot/charts.js';

interface LossLog {
  log: { step: number; loss: number; tasks: Record<string, number> }[];
}

async function main(): Promise<void> {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) throw new Error('usage: plot-loss LOSS_JSON OUT_PNG');
  const { log } = JSON.parse(readFileSync(input, 'utf8')) as LossLog;
  const tasks = [...new Set(log.flatMap((e) => Object.keys(e.tasks)))].sort();
  const series = [
    { name: 'all', points: log.map((e): [number, number] => [e.step, e.loss]) },
    ...tasks.map((task) => ({
      name: task,
      points: log.filter((e) => task in e.tasks).map((e): [number, number] => [e.step, e.tasks[task]!]),
    })),
  ];
  await writeSvgPng(
    lineChartSvg({ title: 'pixtral-demo training loss (answer tokens)', xLabel: 'step', series, logY: true }),
    output,
  );
  process.stdout.write(`${output}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
