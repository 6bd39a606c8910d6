/**
 * Small charts as SVG (rendered to PNG with sharp): grouped bars for evaluations and lines for training curves.
 * Labels use the demo's bitmap font, so a chart looks the same on every machine, with or without fonts.
 */
import sharp from 'sharp';
import { textRects } from '../demo/bitmap-font.js';

const PALETTE = ['#1e88e5', '#43a047', '#fb8c00', '#8e24aa', '#e53935', '#00897b', '#6d4c41'];
const INK = '#222222';
const GRID = '#dddddd';

/** Text in the 5×7 font, `size` pixels per dot; `anchor` 'end' right-aligns at x, 'middle' centres. */
function label(
  text: string,
  x: number,
  y: number,
  size = 2,
  anchor: 'start' | 'middle' | 'end' = 'start',
  fill = INK,
): string {
  const advance = 6 * size;
  const width = text.length * advance - size;
  const left = anchor === 'start' ? x : anchor === 'middle' ? x - width / 2 : x - width;
  return textRects(
    text.replace(/[^A-Za-z0-9 .:%$-]/g, ' '),
    Math.round(left),
    Math.round(y),
    size,
    advance,
    fill,
  );
}

function frame(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#ffffff"/>${body}</svg>`;
}

export interface BarChart {
  title: string;
  /** One group of bars per category (x axis). */
  categories: readonly string[];
  /** One bar per series in every group; values in 0..max. */
  series: readonly { name: string; values: readonly number[] }[];
  max: number;
  /** Printed after each bar's value, e.g. '%'. */
  unit?: string;
}

export function barChartSvg(chart: BarChart): string {
  const bar = 22;
  const gap = 26;
  const longest = Math.max(...chart.categories.map((c) => c.length));
  const groupWidth = Math.max(chart.series.length * bar + gap, longest * 12 + 16);
  const left = 70;
  const top = 60;
  const plotHeight = 260;
  const width = left + chart.categories.length * groupWidth + 30;
  const height = top + plotHeight + 60;
  const parts: string[] = [label(chart.title, width / 2, 14, 2, 'middle')];
  for (let t = 0; t <= 4; t++) {
    const y = top + plotHeight - (t / 4) * plotHeight;
    parts.push(`<line x1="${left}" y1="${y}" x2="${width - 20}" y2="${y}" stroke="${GRID}"/>`);
    parts.push(label(`${Math.round((chart.max * t) / 4)}${chart.unit ?? ''}`, left - 8, y - 7, 2, 'end'));
  }
  chart.categories.forEach((category, g) => {
    const x0 = left + (groupWidth - chart.series.length * bar) / 2 + g * groupWidth;
    chart.series.forEach((s, i) => {
      const value = s.values[g] ?? 0;
      const h = Math.max(0, Math.min(1, value / chart.max)) * plotHeight;
      const x = x0 + i * bar;
      parts.push(
        `<rect x="${x}" y="${top + plotHeight - h}" width="${bar - 3}" height="${h}" fill="${PALETTE[i % PALETTE.length]}"/>`,
      );
      parts.push(label(String(Math.round(value)), x + (bar - 3) / 2, top + plotHeight - h - 11, 1, 'middle'));
    });
    parts.push(label(category, x0 + (chart.series.length * bar) / 2, top + plotHeight + 10, 2, 'middle'));
  });
  parts.push(
    `<line x1="${left}" y1="${top + plotHeight}" x2="${width - 20}" y2="${top + plotHeight}" stroke="${INK}"/>`,
  );
  let lx = left;
  chart.series.forEach((s, i) => {
    parts.push(`<rect x="${lx}" y="34" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`);
    parts.push(label(s.name, lx + 18, 34, 2));
    lx += 18 + s.name.length * 12 + 24;
  });
  return frame(width, height, parts.join(''));
}

export interface LineChart {
  title: string;
  xLabel: string;
  series: readonly { name: string; points: readonly [number, number][] }[];
  /** Log-10 y axis (losses). */
  logY?: boolean;
}

export function lineChartSvg(chart: LineChart): string {
  const width = 760;
  const height = 420;
  const left = 80;
  const right = 170;
  const top = 40;
  const bottom = 60;
  const all = chart.series.flatMap((s) => s.points);
  const ty = (v: number) => (chart.logY ? Math.log10(Math.max(v, 1e-6)) : v);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => ty(p[1]));
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (chart.logY) [y0, y1] = [Math.floor(y0), Math.ceil(y1)];
  const px = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const py = (y: number) => top + (1 - (ty(y) - y0) / (y1 - y0 || 1)) * (height - top - bottom);
  const parts: string[] = [label(chart.title, (width - right + left) / 2, 12, 2, 'middle')];
  const ticks = chart.logY
    ? Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i))
    : Array.from({ length: 5 }, (_, i) => y0 + ((y1 - y0) * i) / 4);
  for (const t of ticks) {
    const y = py(t);
    parts.push(`<line x1="${left}" y1="${y}" x2="${width - right}" y2="${y}" stroke="${GRID}"/>`);
    parts.push(
      label(
        t >= 0.01 ? String(+t.toPrecision(3)) : t.toExponential(0).toUpperCase(),
        left - 8,
        y - 7,
        2,
        'end',
      ),
    );
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    parts.push(label(String(Math.round(x)), px(x), height - bottom + 10, 2, 'middle'));
  }
  parts.push(label(chart.xLabel, (width - right + left) / 2, height - 24, 2, 'middle'));
  chart.series.forEach((s, i) => {
    const colour = PALETTE[i % PALETTE.length];
    const d = s.points
      .map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="${i === 0 ? 2.5 : 1.5}"/>`);
    parts.push(
      `<rect x="${width - right + 14}" y="${top + i * 22}" width="12" height="12" fill="${colour}"/>`,
    );
    parts.push(label(s.name, width - right + 32, top + i * 22, 2));
  });
  parts.push(
    `<rect x="${left}" y="${top}" width="${width - left - right}" height="${height - top - bottom}" fill="none" stroke="${INK}"/>`,
  );
  return frame(width, height, parts.join(''));
}

export async function writeSvgPng(svg: string, path: string): Promise<void> {
  await sharp(Buffer.from(svg)).png().toFile(path);
}
