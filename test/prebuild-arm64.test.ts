/** The linux-arm64 prebuild cross-compiles (it cannot run here: checked as an AArch64 ELF shared object). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

describe('linux-arm64 prebuild', () => {
  it('cross-compiles the native kernels to an AArch64 shared object where the loader looks', () => {
    const out = mkdtempSync(join(tmpdir(), 'pixtral-arm64-out-'));
    try {
      const result = spawnSync(process.execPath, ['scripts/prebuild-arm64.mjs', '--out', out], {
        encoding: 'utf8',
        timeout: 300_000,
        // The script's work folder inside ours: removed below even if the script fails or times out.
        env: { ...process.env, TMPDIR: out },
      });
      assert.equal(result.status, 0, result.stderr);
      const binary = readFileSync(join(out, 'prebuilds', 'linux-arm64-glibc', 'pixtral_native.node'));
      assert.deepEqual([...binary.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'an ELF file');
      assert.equal(binary[4], 2, '64-bit');
      assert.equal(binary.readUInt16LE(16), 3, 'a shared object');
      assert.equal(binary.readUInt16LE(18), 183, 'for AArch64');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
