/**
 * examples/jobs work exactly as written: every SDK script against a local server running the embedded demo
 * model, and the receipts command line, which gives the same rows as the SDK script.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ExcelJS from 'exceljs';
import { demoModelDir } from '../src/demo/embedded-model.js';
import { validator } from './helpers/ajv.js';
import { pixtralAsync } from './helpers/cli.js';
import { scratchDir } from './helpers/scratch.js';
import { MODEL, startTestServer, type TestServer } from './helpers/server.js';

const scratch = scratchDir('pixtral-examples-');
const receipts = readdirSync('examples/jobs/receipts/scans').sort();

function runScript(script: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [resolve(script), ...args],
      { env: { ...process.env, ...env }, timeout: 180_000 },
      (err, stdout, stderr) => (err ? fail(new Error(`${script}: ${err.message}\n${stderr}`)) : done(stdout)),
    );
  });
}

async function sheetRows(path: string): Promise<string[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.readFile(path);
  const rows: string[][] = [];
  workbook.getWorksheet('rows')!.eachRow((row) => rows.push((row.values as unknown[]).slice(1).map(String)));
  return rows;
}

describe('examples/jobs', () => {
  let server: TestServer;
  let env: Record<string, string>;
  before(async () => {
    server = await startTestServer({}, { location: demoModelDir() });
    env = {
      PIXTRAL_URL: server.url,
      PIXTRAL_API_KEY: await server.key(),
      PIXTRAL_MODEL: MODEL,
      MAX_TOKENS: '40',
    };
  });
  after(() => server.stop());

  let sdkRows: string[][] = [];
  it('receipts/to-xlsx.mjs writes one row per item of every receipt', async () => {
    const out = join(scratch, 'receipts.xlsx');
    await runScript('examples/jobs/receipts/to-xlsx.mjs', ['examples/jobs/receipts/scans', out], env);
    const rows = await sheetRows(out);
    assert.deepEqual(rows[0], ['source', 'items.name', 'items.price', 'total']);
    sdkRows = rows.slice(1);
    assert.deepEqual([...new Set(sdkRows.map((r) => r[0]))], receipts);
    // The scans are held-out demo receipts: the demo model's totals are the printed ones.
    const truth = JSON.parse(readFileSync('examples/jobs/receipts/truth.json', 'utf8')) as Record<
      string,
      { total: string }
    >;
    for (const [source, name, price, total] of sdkRows) {
      assert.ok(name!.length > 0);
      assert.ok(Number.isFinite(Number(price)));
      assert.equal(Number(total).toFixed(2), truth[source!]!.total, source);
    }
  });

  it('the receipts command line gives the same rows', async () => {
    const out = join(scratch, 'cli-receipts.xlsx');
    const result = await pixtralAsync([
      'extract',
      '--schema',
      'examples/schemas/demo-receipt.json',
      '--prompt',
      'Extract the items and total as JSON.',
      'examples/jobs/receipts/scans',
      '--out',
      out,
    ]);
    assert.equal(result.status, 0, result.stderr);
    const rows = await sheetRows(out);
    const byColumn = (name: string) => rows[0]!.indexOf(name);
    const picked = rows
      .slice(1)
      .map((r) => [
        basename(r[byColumn('source')]!),
        r[byColumn('items.name')]!,
        r[byColumn('items.price')]!,
        r[byColumn('total')]!,
      ]);
    assert.deepEqual(picked, sdkRows);
  });

  it('tickets/triage.mjs prints one schema-valid record per screenshot', async () => {
    const schema = JSON.parse(readFileSync('examples/schemas/support-ticket.json', 'utf8')) as Record<
      string,
      unknown
    >;
    delete schema.$comment;
    const valid = validator(schema);
    const lines = (await runScript('examples/jobs/tickets/triage.mjs', [], env)).trim().split('\n');
    assert.equal(lines.length, 2);
    for (const [i, line] of lines.entries()) {
      const { source, ...record } = JSON.parse(line) as Record<string, unknown>;
      assert.equal(source, `ticket-${i + 1}.png`);
      assert.equal(valid(record), null, line);
    }
  });

  it('stack-trace/explain.mjs and pdf-qa/ask.mjs stream an answer', async () => {
    const explained = await runScript('examples/jobs/stack-trace/explain.mjs', [], env);
    assert.ok(explained.trim().length > 0);
    const answered = await runScript(
      'examples/jobs/pdf-qa/ask.mjs',
      ['examples/jobs/pdf-qa/report.pdf', 'Which store closed?'],
      env,
    );
    assert.ok(answered.trim().length > 0);
  });
});
