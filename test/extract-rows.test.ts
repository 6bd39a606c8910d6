import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateCompletionRequest } from '../src/chat/completion-request.js';
import { errorsPath, ErrorsLog } from '../src/extract/errors-log.js';
import { flatten } from '../src/extract/flatten.js';
import { rowShape } from '../src/extract/row-shape.js';
import { parseCsv } from '../src/extract/sinks/csv.js';
import { openSink } from '../src/extract/sinks/open-sink.js';
import { readRows } from '../src/extract/sinks/xlsx-sink.js';
import { scratchDir } from './helpers/scratch.js';

const receipt = {
  type: 'object',
  properties: {
    merchant: { type: 'object', properties: { name: { type: 'string' }, city: { type: 'string' } } },
    items: {
      type: 'array',
      items: { type: 'object', properties: { name: { type: 'string' }, price: { type: 'number' } } },
    },
    tags: { type: 'array', items: { type: 'string' } },
    total: { type: 'number' },
  },
};

describe('extract rows', () => {
  it('reads the columns from the schema and flattens the one array of objects', () => {
    const shape = rowShape(receipt);
    assert.equal(shape.rowsPath, 'items');
    assert.deepEqual(shape.columns, [
      'merchant.name',
      'merchant.city',
      'items.name',
      'items.price',
      'tags',
      'total',
    ]);
    const answer = {
      merchant: { name: 'Café, "Bar"', city: 'Lyon' },
      items: [
        { name: 'tea', price: 2.5 },
        { name: 'cake', price: 4 },
      ],
      tags: ['a', 'b'],
      total: 6.5,
    };
    assert.deepEqual(flatten(answer, shape, 'r1.png'), [
      {
        source: 'r1.png',
        'merchant.name': 'Café, "Bar"',
        'merchant.city': 'Lyon',
        'items.name': 'tea',
        'items.price': 2.5,
        tags: '["a","b"]',
        total: 6.5,
      },
      {
        source: 'r1.png',
        'merchant.name': 'Café, "Bar"',
        'merchant.city': 'Lyon',
        'items.name': 'cake',
        'items.price': 4,
        tags: '["a","b"]',
        total: 6.5,
      },
    ]);
  });

  it('keeps one row for an input whose array is empty, so it counts as done', () => {
    const rows = flatten({ merchant: { name: 'x' }, items: [], total: 0 }, rowShape(receipt), 'a.png');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!['items.name'], null);
    assert.equal(rows[0]!['merchant.name'], 'x');
  });

  it('keeps only text a workbook can hold, so csv, jsonl and xlsx agree', () => {
    const shape = rowShape({ type: 'object', properties: { a: { type: 'string' } } });
    assert.equal(flatten({ a: 'x\u0001y\r\nz\rw\t' }, shape, 's')[0]!.a, 'xy\nz\nw\t');
  });

  it('refuses several arrays of objects unless --rows names one', () => {
    const two = {
      type: 'object',
      properties: {
        items: receipt.properties.items,
        payments: { type: 'array', items: { type: 'object', properties: { method: { type: 'string' } } } },
      },
    };
    assert.throws(() => rowShape(two), /several arrays of objects \(items, payments\).*--rows PATH/);
    assert.deepEqual(rowShape(two, 'payments').columns, ['items', 'payments.method']);
    assert.throws(() => rowShape(two, 'nope'), /--rows nope is not an array of objects/);
  });

  it('ships example schemas the output grammar compiles', () => {
    for (const name of ['receipt', 'invoice', 'support-ticket']) {
      const schema = JSON.parse(readFileSync(`examples/schemas/${name}.json`, 'utf8'));
      validateCompletionRequest({
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name, schema } },
      });
      assert.ok(rowShape(schema).columns.length > 0);
    }
  });

  it('gives one row per input for a schema without arrays of objects', () => {
    const shape = rowShape({ type: 'object', properties: { a: { type: 'string' } } });
    assert.equal(shape.rowsPath, undefined);
    assert.deepEqual(flatten({ a: 'x' }, shape, 's'), [{ source: 's', a: 'x' }]);
  });
});

describe('extract sinks', () => {
  const header = ['source', 'name', 'price'];
  const rows = (source: string) => [
    { source, name: 'tea, "green"', price: 2.5 },
    { source, name: 'line\nbreak', price: null },
  ];

  for (const ext of ['csv', 'jsonl', 'xlsx']) {
    it(`${ext}: appends, and knows on reopening which sources it holds`, async () => {
      const path = join(scratchDir('extract-sink-'), `rows.${ext}`);
      const sink = await openSink(path, header);
      assert.equal(sink.done.size, 0);
      await sink.append(rows('a.png'));
      await sink.append(rows('b.pdf#page=2'));
      await sink.close();
      const again = await openSink(path, header);
      assert.deepEqual([...again.done].sort(), ['a.png', 'b.pdf#page=2']);
      await again.close();
      await assert.rejects(openSink(path, ['source', 'other']), /other columns than this schema/);
    });
  }

  it('csv and xlsx hold the same cells', async () => {
    const dir = scratchDir('extract-sink-');
    for (const ext of ['csv', 'xlsx']) {
      const sink = await openSink(join(dir, `rows.${ext}`), header);
      await sink.append(rows('a.png'));
      await sink.close();
    }
    const csv = parseCsv(readFileSync(join(dir, 'rows.csv'), 'utf8'));
    const xlsx = await readRows(join(dir, 'rows.xlsx'), header);
    assert.deepEqual(
      csv.slice(1),
      xlsx.map((row) => row.map((c) => (c === null ? '' : String(c)))),
    );
  });

  it('drops a line cut by a crash when reopened', async () => {
    const path = join(scratchDir('extract-sink-'), 'rows.csv');
    const sink = await openSink(path, header);
    await sink.append(rows('a.png'));
    await sink.close();
    appendFileSync(path, 'b.png,half a li');
    const again = await openSink(path, header);
    assert.deepEqual([...again.done], ['a.png']);
    await again.append([{ source: 'c.png', name: 'x', price: 1 }]);
    await again.close();
    assert.deepEqual(
      parseCsv(readFileSync(path, 'utf8')).map((r) => r[0]),
      ['source', 'a.png', 'a.png', 'c.png'],
    );
  });

  it('writes failures beside the output', async () => {
    const dir = scratchDir('extract-sink-');
    const path = errorsPath(join(dir, 'rows.xlsx'));
    assert.equal(path, join(dir, 'rows.errors.jsonl'));
    const log = new ErrorsLog(path);
    await log.add('bad.png', 'not an image');
    await log.close();
    const entry = JSON.parse(readFileSync(path, 'utf8'));
    assert.equal(entry.source, 'bad.png');
    assert.equal(entry.error, 'not an image');
    writeFileSync(path, '');
  });
});
