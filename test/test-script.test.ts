/**
 * `npm test` must run exactly the `*.test.js` files: Node 20's `--test DIR` also runs every other .js file
 * under a `test/` folder, so the helper modules ran as empty "tests" that asserted nothing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const script: string = JSON.parse(readFileSync('package.json', 'utf8')).scripts.test;

/** The file arguments of the script's `node --test …` command, expanded by sh as npm runs it. */
function testFiles(): string[] {
  const command = script.split('&&').find((part) => /\bnode --test\b/.test(part));
  assert.ok(command, `no "node --test" in ${script}`);
  const args = command
    .trim()
    .split(/\s+/)
    .slice(2)
    .filter((arg) => !arg.startsWith('-'));
  const out = execFileSync('sh', ['-c', `printf '%s\\n' ${args.join(' ')}`], { encoding: 'utf8' });
  return out.trim().split('\n').sort();
}

describe('npm test', () => {
  it('runs every dist/test/*.test.js file and nothing else', () => {
    const built = readdirSync('dist/test')
      .filter((name) => name.endsWith('.test.js'))
      .map((name) => `dist/test/${name}`)
      .sort();
    assert.ok(built.includes('dist/test/test-script.test.js'));
    assert.deepEqual(testFiles(), built);
  });

  it('finds every test source: tests sit directly in test/, helpers are never named *.test.ts', () => {
    const nested = readdirSync('test', { recursive: true, encoding: 'utf8' }).filter(
      (path) => path.includes('/') && path.endsWith('.test.ts'),
    );
    assert.deepEqual(nested, [], 'a test in a subfolder would be missed by the dist/test/*.test.js glob');
  });
});
