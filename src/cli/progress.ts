/** A one-line progress display on stderr while loading (redrawn in place on a terminal, silent otherwise). */
import type { CliIO } from './io.js';

// Whether a bar is drawn without its line ended, so an error does not get glued to the end of it.
let lineOpen = false;

/** Ends a progress line left open by a step that failed half-way; the CLI calls it before printing an error. */
export function endProgressLine(): void {
  if (lineOpen) process.stderr.write('\n');
  lineOpen = false;
}

export function progressBar(label: string, _io: CliIO, unit = 'tensors') {
  const tty = process.stderr.isTTY === true;
  let last = -1;
  return {
    update(done: number, total: number) {
      const percent = Math.floor((100 * done) / total);
      if (!tty || percent === last) return;
      last = percent;
      const width = 30;
      const filled = Math.round((width * done) / total);
      lineOpen = true;
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${percent}% (${done}/${total} ${unit})`,
      );
    },
    done() {
      endProgressLine();
    },
  };
}
