/** Where rows go. Each sink knows, once opened, which inputs the file already holds (by the source column). */
import type { Row } from '../flatten.js';

export interface RowSink {
  /** Sources whose rows the output held when it was opened: a rerun skips them. */
  readonly done: ReadonlySet<string>;
  /** Adds one input's rows, durably, before it returns. */
  append(rows: readonly Row[]): Promise<void>;
  close(): Promise<void>;
}
