import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { parseCsv } from '../src/extract/sinks/csv.js';
import { readRows } from '../src/extract/sinks/xlsx-sink.js';
import { pixtral, pixtralAsync } from './helpers/cli.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';
import { MODEL, startTestServer } from './helpers/server.js';
import { tinyPdf } from './helpers/tiny-pdf.js';

const model = fixturePath(loadGoldens().model.consolidated);
const scratch = scratchDir('pixtral-extract-');

// Short strings and at most 3 items: the fixture model's random answers stay a few dozen tokens.
const schema = {
  type: 'object',
  properties: {
    merchant: { type: 'string', maxLength: 12 },
    items: {
      type: 'array',
      maxItems: 3,
      items: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 8 }, price: { type: 'number' } },
        required: ['name', 'price'],
      },
    },
    total: { type: 'number' },
  },
  required: ['merchant', 'items', 'total'],
};
const header = ['source', 'merchant', 'items.name', 'items.price', 'total'];

async function receipt(path: string, shop: string, lines: [string, string][]): Promise<void> {
  const text = lines.map(
    ([name, price], i) => `<text x="16" y="${80 + 24 * i}" font-size="16">${name} ${price}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="260"><rect width="100%" height="100%" fill="#fff"/>
    <text x="16" y="40" font-size="22">${shop}</text>${text.join('')}<text x="16" y="240" font-size="18">TOTAL</text></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

async function inputs(): Promise<{ folder: string; pdf: string }> {
  const folder = join(scratch, 'receipts');
  mkdirSync(folder, { recursive: true });
  await receipt(join(folder, 'r1.png'), 'CAFE', [
    ['tea', '2.50'],
    ['cake', '4.00'],
  ]);
  await receipt(join(folder, 'r2.png'), 'BAKERY', [['bread', '3.10']]);
  await sharp(join(folder, 'r1.png')).tiff().toFile(join(folder, 'r3.tif'));
  writeFileSync(join(folder, 'corrupt.png'), 'not an image at all');
  writeFileSync(join(folder, 'corrupt.pdf'), '%PDF-1.4 truncated');
  const pdf = join(scratch, 'invoice.pdf');
  writeFileSync(pdf, tinyPdf(['INVOICE 1  tea 2.50', 'INVOICE 2  cake 4.00']));
  return { folder, pdf };
}

const sourcesOf = (rows: string[][]) => [...new Set(rows.map((row) => row[0]))].sort();
const sorted = (rows: string[][]) => rows.map((row) => JSON.stringify(row)).sort();
const asText = (rows: unknown[][]) =>
  rows.map((row) => row.map((cell) => (cell === null ? '' : String(cell))));

describe('pixtral extract', () => {
  it('turns a folder of receipts and a 2-page PDF into rows; kill -9 and a rerun give the same rows', async () => {
    const { folder, pdf } = await inputs();
    const args = () => ['extract', '--schema', join(scratch, 'schema.json'), '--model', model];
    writeFileSync(join(scratch, 'schema.json'), JSON.stringify(schema));
    const run = (out: string) => [...args(), folder, pdf, '--out', out, '--max-tokens', '300'];

    // 1. Uninterrupted, to CSV.
    const csvPath = join(scratch, 'whole', 'rows.csv');
    const whole = await pixtralAsync(run(csvPath), 300_000);
    assert.equal(whole.status, 1, whole.stderr); // the corrupt inputs failed, the rest went on
    assert.match(whole.stderr, /2 inputs failed: see .*rows\.errors\.jsonl/);
    const records = parseCsv(readFileSync(csvPath, 'utf8'));
    assert.deepEqual(records[0], header);
    const rows = records.slice(1);
    const image = (name: string) => join(folder, name);
    assert.deepEqual(
      sourcesOf(rows),
      [image('r1.png'), image('r2.png'), image('r3.tif'), `${pdf}#page=1`, `${pdf}#page=2`].sort(),
    );
    // Flattened: an input's parent fields repeat on each of its item rows.
    for (const source of sourcesOf(rows)) {
      const own = rows.filter((row) => row[0] === source);
      assert.ok(own.length >= 1 && own.length <= 3, `${source}: ${own.length} rows`);
      assert.equal(
        new Set(own.map((row) => `${row[1]}|${row[4]}`)).size,
        1,
        `${source}: parent fields repeated`,
      );
      for (const row of own) assert.equal(row.length, header.length);
    }
    const errors = readFileSync(join(scratch, 'whole', 'rows.errors.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.deepEqual(errors.map((e) => e.source).sort(), [image('corrupt.pdf'), image('corrupt.png')]);
    for (const e of errors) assert.ok(e.error.length > 0);

    // 2. To .xlsx, killed with SIGKILL after the first finished input, then rerun.
    const xlsxPath = join(scratch, 'killed', 'rows.xlsx');
    const child = spawn(process.execPath, [resolve('bin/pixtral.js'), ...run(xlsxPath)], { stdio: 'ignore' });
    const exited = new Promise((done) => child.on('exit', done));
    let before: string[][] = [];
    for (let waited = 0; waited < 240_000 && before.length === 0; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      if (existsSync(xlsxPath)) before = asText(await readRows(xlsxPath, header));
    }
    child.kill('SIGKILL');
    await exited;
    assert.ok(before.length > 0, 'an input finished before the kill');
    const kept = sourcesOf(asText(await readRows(xlsxPath, header)));
    assert.ok(kept.length < 5, `killed mid-batch (${kept.length} of 5 inputs done)`);
    const rerun = await pixtralAsync(run(xlsxPath), 300_000);
    assert.equal(rerun.status, 1, rerun.stderr);
    assert.match(rerun.stderr, new RegExp(`${kept.length} of 6 inputs are already in`));
    // Read back with exceljs, the workbook holds exactly the CSV's rows.
    assert.deepEqual(sorted(asText(await readRows(xlsxPath, header))), sorted(rows));

    // 3. Everything done: a third run asks the model nothing.
    const again = pixtral(run(xlsxPath), 120_000);
    assert.match(again.stderr, /5 of 6 inputs are already in/);
  });

  it('asks a server with --url/--key and writes the rows a local model writes (jsonl)', async () => {
    const image = join(scratch, 'remote.png');
    await receipt(image, 'KIOSK', [['water', '1.20']]);
    writeFileSync(join(scratch, 'schema.json'), JSON.stringify(schema));
    const args = ['extract', '--schema', join(scratch, 'schema.json'), image, '--max-tokens', '300'];
    const local = join(scratch, 'local.jsonl');
    const remote = join(scratch, 'remote.jsonl');
    assert.equal((await pixtralAsync([...args, '--model', model, '--out', local], 300_000)).status, 0);
    const server = await startTestServer();
    try {
      const key = await server.key();
      const result = await pixtralAsync(
        [...args, '--url', server.url, '--key', key, '--model', MODEL, '--out', remote],
        300_000,
      );
      assert.equal(result.status, 0, result.stderr);
    } finally {
      await server.stop();
    }
    const lines = (path: string) =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
    assert.deepEqual(Object.keys(lines(remote)[0]), header);
    assert.deepEqual(lines(remote), lines(local));
  });

  it('refuses a schema with several arrays of objects without --rows, in one line', () => {
    const two = { type: 'object', properties: { a: schema.properties.items, b: schema.properties.items } };
    writeFileSync(join(scratch, 'two.json'), JSON.stringify(two));
    const result = pixtral([
      'extract',
      '--schema',
      join(scratch, 'two.json'),
      '--model',
      model,
      scratch,
      '--out',
      join(scratch, 'x.csv'),
    ]);
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /several arrays of objects \(a, b\): name the one to flatten into rows with --rows PATH/,
    );
  });
});
