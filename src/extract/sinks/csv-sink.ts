/** Rows appended to a CSV file: a header of the schema's columns, then each input's rows, fsynced. */
import { CliError } from '../../cli/errors.js';
import type { Row } from '../flatten.js';
import { AppendFile } from './append-file.js';
import { csvLine, parseCsv } from './csv.js';
import type { RowSink } from './row-sink.js';

export async function openCsvSink(path: string, header: readonly string[]): Promise<RowSink> {
  const { file, text } = await AppendFile.open(path);
  const records = parseCsv(text);
  const done = new Set<string>();
  if (records.length === 0) await file.append(csvLine(header));
  else {
    if (records[0]!.join(',') !== header.join(','))
      throw new CliError(
        `${path} has other columns than this schema gives (${records[0]!.join(',')}): choose another --out`,
      );
    for (const record of records.slice(1)) done.add(record[0]!);
  }
  return {
    done,
    append: (rows: readonly Row[]) =>
      file.append(rows.map((row) => csvLine(header.map((c) => row[c]!))).join('')),
    close: () => file.close(),
  };
}
