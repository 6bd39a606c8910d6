/**
 * Progress of a batch on stderr: a bar with the inputs done and the time left (from the average time per
 * input so far) redrawn in place on a terminal; elsewhere one line per input. Failures always get a line.
 */
import type { CliIO } from './io.js';
import { endProgressLine } from './progress.js';

export function batchProgress(label: string, total: number, io: CliIO) {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let done = 0;
  const eta = () => {
    const seconds = Math.round(((Date.now() - started) / 1000 / done) * (total - done));
    return seconds >= 60
      ? `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`
      : `${seconds}s`;
  };
  const draw = () => {
    const width = 30;
    const filled = total ? Math.round((width * done) / total) : width;
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total} inputs, ETA ${eta()}`,
    );
  };
  return {
    finished(source: string, failure?: string) {
      done++;
      if (failure !== undefined) {
        endProgressLine();
        io.err(`${source}: failed: ${failure}`);
      }
      if (tty) draw();
      else if (failure === undefined) io.err(`${label} ${done}/${total} ${source} (ETA ${eta()})`);
    },
    done() {
      if (tty) process.stderr.write('\n');
    },
  };
}
