/** Rows appended to a JSON Lines file, one object per row with the columns in header order, fsynced. */
import { CliError } from '../../cli/errors.js';
import type { Row } from '../flatten.js';
import { AppendFile } from './append-file.js';
import type { RowSink } from './row-sink.js';

export async function openJsonlSink(path: string, header: readonly string[]): Promise<RowSink> {
  const { file, text } = await AppendFile.open(path);
  const done = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as Record<string, unknown>;
    if (Object.keys(row).join(',') !== header.join(','))
      throw new CliError(
        `${path} has other columns than this schema gives (${Object.keys(row).join(',')}): choose another --out`,
      );
    done.add(String(row[header[0]!]));
  }
  const ordered = (row: Row) => Object.fromEntries(header.map((c) => [c, row[c] ?? null]));
  return {
    done,
    append: (rows: readonly Row[]) =>
      file.append(rows.map((row) => JSON.stringify(ordered(row)) + '\n').join('')),
    close: () => file.close(),
  };
}
