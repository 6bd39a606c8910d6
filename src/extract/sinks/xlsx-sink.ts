/**
 * Rows kept in a real .xlsx workbook (exceljs). A workbook cannot be appended to, so each update writes the
 * whole workbook to a temporary file beside it and renames it over the old one: a kill leaves the previous
 * complete workbook, never a half-written one.
 */
import { rename, stat, unlink } from 'node:fs/promises';
import ExcelJS from 'exceljs';
import { CliError } from '../../cli/errors.js';
import type { Cell, Row } from '../flatten.js';
import type { RowSink } from './row-sink.js';

const SHEET = 'rows';

export async function openXlsxSink(path: string, header: readonly string[]): Promise<RowSink> {
  const rows = (await exists(path)) ? await readRows(path, header) : [];
  const done = new Set(rows.map((row) => String(row[0] ?? '')));
  const save = async () => {
    const book = new ExcelJS.Workbook();
    const sheet = book.addWorksheet(SHEET);
    sheet.addRow([...header]);
    sheet.getRow(1).font = { bold: true };
    for (const row of rows) sheet.addRow(row);
    const temporary = `${path}.${process.pid}.tmp`;
    try {
      await book.xlsx.writeFile(temporary);
      await rename(temporary, path);
    } catch (err) {
      await unlink(temporary).catch(() => {});
      throw err;
    }
  };
  if (rows.length === 0) await save();
  return {
    done,
    append: async (added: readonly Row[]) => {
      for (const row of added) rows.push(header.map((c) => row[c] ?? null));
      await save();
    },
    close: async () => {},
  };
}

/** The workbook's data rows, after checking its header is this schema's. */
export async function readRows(path: string, header: readonly string[]): Promise<Cell[][]> {
  const book = new ExcelJS.Workbook();
  await book.xlsx.readFile(path);
  const sheet = book.getWorksheet(SHEET);
  if (!sheet) throw new CliError(`${path} has no "${SHEET}" sheet: it was not written by extract`);
  const cells = (index: number): Cell[] => {
    const values = sheet.getRow(index).values as unknown[]; // exceljs rows are 1-based: values[0] is empty
    return header.map((_, i) => (values[i + 1] ?? null) as Cell);
  };
  const found = cells(1).join(',');
  if (found !== header.join(','))
    throw new CliError(`${path} has other columns than this schema gives (${found}): choose another --out`);
  const rows: Cell[][] = [];
  for (let i = 2; i <= sheet.rowCount; i++) rows.push(cells(i));
  return rows;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
