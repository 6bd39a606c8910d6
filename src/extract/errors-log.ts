/**
 * The inputs that failed, with why, as JSON lines beside the output (rows.csv → rows.errors.jsonl). The
 * batch goes on past them; they are not in the output, so a rerun tries them again.
 */
import { basename, dirname, extname, join } from 'node:path';
import { AppendFile } from './sinks/append-file.js';

export function errorsPath(outPath: string): string {
  return join(dirname(outPath), `${basename(outPath, extname(outPath))}.errors.jsonl`);
}

export class ErrorsLog {
  private file: Promise<AppendFile> | undefined;

  constructor(readonly path: string) {}

  /** Opened on the first failure, so a clean batch leaves no errors file. */
  async add(source: string, reason: string): Promise<void> {
    this.file ??= AppendFile.open(this.path).then(({ file }) => file);
    await (
      await this.file
    ).append(JSON.stringify({ source, error: reason, time: new Date().toISOString() }) + '\n');
  }

  async close(): Promise<void> {
    if (this.file) await (await this.file).close();
  }
}
