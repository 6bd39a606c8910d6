/**
 * Writes the example inputs the README, `npm start` and examples/jobs use:
 *  - examples/demo/: held-out demo items (never trained on), with the question and the answer they should get;
 *  - examples/jobs/: a folder of demo receipts, a stack-trace screenshot, support-ticket screenshots and a
 *    two-page PDF report. The screenshots use the machine's fonts (DejaVu on Debian); they are committed, so
 *    nothing renders them at run time.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { heldOutItems, type DemoItem, type DemoTask } from '../../demo/dataset.js';
import { scenePng } from '../../demo/render.js';
import { formatCents } from '../../demo/scenes.js';
import { pdfString, writePdf } from '../pdf-writer.js';

/** Which held-out item of each task becomes the example (chosen for a picture that shows the task well). */
const EXAMPLES: [name: string, task: DemoTask, index: number][] = [
  ['shapes', 'count', 3],
  ['colours', 'colour', 2],
  ['position', 'position', 0],
  ['word', 'text', 0],
  ['receipt', 'receipt', 1],
];

async function main(): Promise<void> {
  const out = process.argv[2] ?? 'examples/demo';
  mkdirSync(out, { recursive: true });
  const items = heldOutItems();
  const listing: Record<string, { question: string; answer: string }> = {};
  for (const [name, task, index] of EXAMPLES) {
    const item = items.filter((i) => i.task === task)[index]!;
    writeFileSync(join(out, `${name}.png`), await scenePng(item.scene!));
    listing[`${name}.png`] = { question: item.question, answer: item.answer };
  }
  writeFileSync(join(out, 'truth.json'), `${JSON.stringify(listing, null, 2)}\n`);
  await writeJobExamples(items);
}

async function writeJobExamples(items: DemoItem[]): Promise<void> {
  const receipts = 'examples/jobs/receipts/scans';
  mkdirSync(receipts, { recursive: true });
  const truth: Record<string, { items: { name: string; price: string }[]; total: string }> = {};
  const held = items.filter((i) => i.task === 'receipt').slice(2, 5);
  for (const [n, item] of held.entries()) {
    if (item.truth.task !== 'receipt') continue;
    writeFileSync(join(receipts, `receipt-${n + 1}.png`), await scenePng(item.scene!));
    truth[`receipt-${n + 1}.png`] = {
      items: item.truth.items.map((line) => ({ name: line.name, price: formatCents(line.cents) })),
      total: formatCents(item.truth.totalCents),
    };
  }
  writeFileSync(join(receipts, '..', 'truth.json'), `${JSON.stringify(truth, null, 2)}\n`);

  mkdirSync('examples/jobs/stack-trace', { recursive: true });
  await screenshot('examples/jobs/stack-trace/error.png', 'Terminal — node server.js', [
    '$ node server.js',
    'Listening on http://localhost:3000',
    '/app/src/orders.js:42',
    '    const total = order.items.reduce((sum, item) => sum + item.price, 0);',
    '                              ^',
    '',
    "TypeError: Cannot read properties of undefined (reading 'reduce')",
    '    at orderTotal (/app/src/orders.js:42:31)',
    '    at /app/src/routes.js:17:22',
    '    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)',
    '',
    'Node.js v20.11.1',
  ]);

  mkdirSync('examples/jobs/tickets/screens', { recursive: true });
  await screenshot('examples/jobs/tickets/screens/ticket-1.png', 'Support — ticket #4821', [
    'From: dana.lee@example.com',
    'Subject: Charged twice and now I cannot pay',
    '',
    'Hi, my card was charged twice for the March invoice and now',
    'every payment attempt fails with the message below. Please fix',
    'this today, our account gets suspended on Friday!',
    '',
    '  [!] Payment failed: card_declined (code 402)',
  ]);
  await screenshot('examples/jobs/tickets/screens/ticket-2.png', 'Support — ticket #4822', [
    'From: sam@example.org',
    'Subject: Dark mode for the dashboard?',
    '',
    'Love the product. Would it be possible to add a dark mode to',
    'the dashboard? It would help a lot when working late. Thanks!',
  ]);

  mkdirSync('examples/jobs/pdf-qa', { recursive: true });
  writeFileSync(
    'examples/jobs/pdf-qa/report.pdf',
    textPdf([
      [
        'Northwind Outdoor - Quarterly Report Q3 2026',
        '',
        'Revenue for the third quarter was 4.2 million euros, up 12% on Q2.',
        'Hiking boots remained the best-selling line (38% of revenue).',
        'Online orders grew to 61% of sales; the Lyon store closed in August.',
      ],
      [
        'Outlook',
        '',
        'For Q4 we expect revenue between 4.5 and 4.8 million euros.',
        'The new rain-jacket line launches on 1 October.',
        'Risks: shipping costs and a warm autumn reducing demand for jackets.',
      ],
    ]),
  );
}

/** A window-like screenshot: a title bar and monospace lines (librsvg text; the fonts of this machine). */
async function screenshot(path: string, title: string, lines: string[]): Promise<void> {
  const width = 760;
  const height = 60 + lines.length * 22 + 20;
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const text = lines
    .map((line, i) => `<text x="16" y="${74 + i * 22}" xml:space="preserve">${escape(line)}</text>`)
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="#1e1e1e"/><rect width="100%" height="36" fill="#3c3c3c"/>` +
    `<circle cx="18" cy="18" r="6" fill="#ff5f57"/><circle cx="38" cy="18" r="6" fill="#febc2e"/><circle cx="58" cy="18" r="6" fill="#28c840"/>` +
    `<text x="${width / 2}" y="23" fill="#dddddd" font-family="DejaVu Sans, sans-serif" font-size="14" text-anchor="middle">${escape(title)}</text>` +
    `<g fill="#e6e6e6" font-family="DejaVu Sans Mono, monospace" font-size="14">${text}</g></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

/** A plain PDF, one page per list of lines, 11-pt Helvetica. */
function textPdf(pages: string[][]): Buffer {
  return writePdf(
    pages.map(
      (lines) =>
        `BT /F1 11 Tf ${lines.map((line, k) => `1 0 0 1 56 ${780 - k * 18} Tm ${pdfString(line)} Tj`).join(' ')} ET`,
    ),
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
