/** The sink an --out file's extension names. */
import { extname } from 'node:path';
import { UsageError } from '../../cli/errors.js';
import { openCsvSink } from './csv-sink.js';
import { openJsonlSink } from './jsonl-sink.js';
import type { RowSink } from './row-sink.js';
import { openXlsxSink } from './xlsx-sink.js';

const SINKS: Record<string, (path: string, header: readonly string[]) => Promise<RowSink>> = {
  '.csv': openCsvSink,
  '.jsonl': openJsonlSink,
  '.xlsx': openXlsxSink,
};

export function checkOutPath(path: string): void {
  if (!Object.hasOwn(SINKS, extname(path).toLowerCase()))
    throw new UsageError(`--out must end in .csv, .xlsx or .jsonl, got "${path}"`);
}

export function openSink(path: string, header: readonly string[]): Promise<RowSink> {
  checkOutPath(path);
  return SINKS[extname(path).toLowerCase()]!(path, header);
}
