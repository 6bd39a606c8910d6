/** Scratch folders for tests, removed with everything in them once the test file is done. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const made: string[] = [];

function removeAll(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// Registered while the test file's imports load, so the hook is the file's own: it runs after its last test
// (passed, failed or skipped), not after the test that first asks for a folder. Exit catches a run cut short.
after(removeAll);
process.on('exit', removeAll);

/** A fresh folder `<tmpdir>/<prefix>XXXXXX`, removed after the test file's last test. */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
