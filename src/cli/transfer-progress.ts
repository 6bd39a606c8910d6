/**
 * Download progress, one bar per file with bytes, speed and ETA. On a terminal the bars are redrawn in place
 * (several at once, ten times a second at most); otherwise — logs, CI, tests — each file prints a plain line
 * when it starts, every few seconds while it runs, and when it ends.
 */
import { endProgressLine } from './progress.js';
import { binaryBytes } from './format.js';

export interface FileBar {
  /** Bytes present so far (including a resumed prefix) out of the file's size. */
  update(present: number, size: number): void;
  resumed(offset: number): void;
  /** A one-line notice about this file (a retry), printed above the bars. */
  note(line: string): void;
  done(outcome: string): void;
}

interface BarState {
  readonly label: string;
  size: number;
  present: number;
  /** Bytes present when this run started: speed counts only what this run moved. */
  startBytes: number;
  readonly started: number;
  lastLine: number;
  state: 'running' | string;
}

const REDRAW_MS = 100;
const PLAIN_EVERY_MS = Number(process.env.PIXTRAL_PROGRESS_INTERVAL_MS ?? 5000);
const WIDTH = 24;

export function transferProgress(stream: NodeJS.WriteStream = process.stderr) {
  const tty = stream.isTTY === true;
  const bars: BarState[] = [];
  let drawn = 0;
  let lastDraw = 0;

  const redraw = (force = false) => {
    const now = Date.now();
    if (!force && now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    endProgressLine(); // a one-line bar another step left open
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const bar of bars) text += `\x1b[2K${barLine(bar, now)}\n`;
    drawn = bars.length;
    stream.write(text);
  };

  const plain = (line: string) => {
    if (tty) {
      // A notice goes above the bars: clear them, print it, draw them again below.
      stream.write((drawn > 0 ? `\x1b[${drawn}A\x1b[0J` : '') + line + '\n');
      drawn = 0;
      redraw(true);
    } else stream.write(line + '\n');
  };

  return {
    add(label: string, size: number): FileBar {
      const now = Date.now();
      const bar: BarState = {
        label,
        size,
        present: 0,
        startBytes: 0,
        started: now,
        lastLine: now,
        state: 'running',
      };
      bars.push(bar);
      if (tty) redraw(true);
      return {
        update(present, total) {
          bar.present = present;
          bar.size = total;
          if (tty) return redraw();
          const at = Date.now();
          if (at - bar.lastLine < PLAIN_EVERY_MS) return;
          bar.lastLine = at;
          stream.write(barLine(bar, at) + '\n');
        },
        resumed(offset) {
          bar.startBytes = offset;
          bar.present = offset;
          plain(`${label}: resuming at ${shortBytes(offset)} of ${shortBytes(bar.size)}`);
        },
        note(line) {
          plain(line);
        },
        done(outcome) {
          bar.state = outcome;
          if (outcome === 'downloaded') bar.present = bar.size;
          if (tty) redraw(true);
          else stream.write(barLine(bar, Date.now()) + '\n');
        },
      };
    },
  };
}

function barLine(bar: BarState, now: number): string {
  const fraction = bar.size > 0 ? Math.min(1, bar.present / bar.size) : 1;
  const filled = Math.round(WIDTH * fraction);
  const head = `${bar.label} [${'#'.repeat(filled)}${' '.repeat(WIDTH - filled)}] ${String(Math.floor(100 * fraction)).padStart(3)}%`;
  const amount = `${shortBytes(bar.present)}/${shortBytes(bar.size)}`;
  if (bar.state !== 'running') {
    const what =
      bar.state === 'cached'
        ? 'already in the cache'
        : bar.state === 'linked'
          ? 'linked to a cached blob'
          : 'verified';
    return `${head} ${amount}  ${what}`;
  }
  const seconds = (now - bar.started) / 1000;
  const speed = seconds > 0 ? (bar.present - bar.startBytes) / seconds : 0;
  const eta = speed > 0 ? formatDuration((bar.size - bar.present) / speed) : '--';
  return `${head} ${amount}  ${shortBytes(speed)}/s  ETA ${eta}`;
}

/** 1.5 GiB, 12.0 MiB, 438 B: short enough for a bar. */
export function shortBytes(bytes: number): string {
  return binaryBytes(bytes, 1);
}

/** 75 → 1m15s, 4000 → 1h06m. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
