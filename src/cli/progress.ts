/** A one-line progress display on stderr while loading (redrawn in place on a terminal, silent otherwise). */
import type { CliIO } from './io.js';

export function progressBar(label: string, _io: CliIO) {
  const tty = process.stderr.isTTY === true;
  let last = -1;
  return {
    update(done: number, total: number) {
      const percent = Math.floor((100 * done) / total);
      if (!tty || percent === last) return;
      last = percent;
      const width = 30;
      const filled = Math.round((width * done) / total);
      process.stderr.write(
        `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${percent}% (${done}/${total} tensors)`,
      );
    },
    done() {
      if (tty && last >= 0) process.stderr.write('\n');
    },
  };
}
