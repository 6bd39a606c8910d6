/** Asserting how the CLI fails: one readable line (plus the usage hint for calling mistakes), no stack. */
import assert from 'node:assert/strict';
import type { CliResult } from './cli.js';

export function assertOneLineFailure(result: CliResult, pattern: RegExp, status = 1): void {
  assert.equal(result.status, status, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('Usage: '));
  assert.equal(lines.length, 1, `one line of error, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(lines[0]!, /internal error/, 'a user mistake is not an internal error');
}
