/**
 * One input's answer → its rows: the parent fields repeated on every item of the row array, the source
 * first. An answer whose row array is empty still gives one row (parent fields, empty item cells), so the
 * output records that the input was done and a rerun does not redo it.
 */
import { type RowShape, SOURCE_COLUMN } from './row-shape.js';

/** A cell: what a CSV, a JSON line and a spreadsheet all hold. Objects and arrays are kept as JSON text. */
export type Cell = string | number | boolean | null;
export type Row = Readonly<Record<string, Cell>>;

export function flatten(answer: unknown, shape: RowShape, source: string): Row[] {
  const parent: Record<string, Cell> = { [SOURCE_COLUMN]: source };
  const items = shape.rowsPath === undefined ? [] : asArray(valueAt(answer, shape.rowsPath));
  for (const column of shape.columns)
    if (!isUnder(column, shape.rowsPath)) parent[column] = cell(valueAt(answer, column));
  if (items.length === 0) return [withItem(parent, undefined, shape)];
  return items.map((item) => withItem(parent, item, shape));
}

function withItem(parent: Record<string, Cell>, item: unknown, shape: RowShape): Row {
  const row: Record<string, Cell> = { [SOURCE_COLUMN]: parent[SOURCE_COLUMN]! };
  for (const column of shape.columns)
    row[column] = isUnder(column, shape.rowsPath)
      ? cell(valueAt(item, column.slice(shape.rowsPath!.length + 1)))
      : parent[column]!;
  return row;
}

function isUnder(column: string, rowsPath: string | undefined): boolean {
  return rowsPath !== undefined && column.startsWith(rowsPath + '.');
}

function valueAt(value: unknown, path: string): unknown {
  let at = value;
  for (const name of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[name];
  }
  return at;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function cell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return spreadsheetText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return spreadsheetText(JSON.stringify(value));
}

/**
 * Text every output can hold alike: a workbook is XML, which has no control characters (exceljs drops them)
 * and reads a stored CR LF back as LF. Cleaning here keeps the .csv, .jsonl and .xlsx rows identical.
 */
function spreadsheetText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '');
}
