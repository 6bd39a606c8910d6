/** `pixtral pull` as a user runs it, against a hub on loopback: killed half-way and resumed, gated, faults. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RepoCache } from '../src/hub/cache-layout.js';
import { type CliResult, pixtralAsync } from './helpers/cli.js';
import { freshHubEnv, mistralLayoutFiles } from './helpers/hub-fixture.js';
import { LocalHub, sha256 } from './helpers/local-hub.js';

const REPO = 'tests/tiny-pixtral';
const WEIGHTS = 'consolidated.safetensors';
const weightsEtag = sha256(mistralLayoutFiles().find((f) => f.path === WEIGHTS)!.bytes);

let hub: LocalHub;
before(async () => {
  hub = await LocalHub.start();
  hub.addRepo({ id: REPO, files: mistralLayoutFiles() });
  hub.addRepo({ id: 'tests/gated-pixtral', files: mistralLayoutFiles(), gated: true });
});
after(() => hub.close());

const freshEnv = () => freshHubEnv(hub.url, { PIXTRAL_PULL_RETRY_DELAY_MS: '10' });

function blobs(env: Record<string, string>): string[] {
  const dir = join(new RepoCache(env.HF_HUB_CACHE!, REPO).dir, 'blobs');
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** One readable line, exit 1, no stack trace, and the weights neither in the snapshot nor as a finished blob. */
function assertCleanFailure(result: CliResult, line: RegExp, env: Record<string, string>): void {
  assert.equal(result.status, 1, result.stderr);
  const last = result.stderr.trim().split('\n').pop()!;
  assert.match(last, line);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.ok(!blobs(env).includes(weightsEtag), 'no blob that looks complete');
  const cache = new RepoCache(env.HF_HUB_CACHE!, REPO);
  assert.equal(cache.cachedFile(hub.commitOf(REPO), WEIGHTS), null);
}

describe('pixtral pull', () => {
  it('killed half-way, resumes with a Range request and ends verified; a second pull downloads nothing', async () => {
    const env = freshEnv();
    hub.faults.bytesPerSecond = 2_000_000;
    const sentBefore = hub.sent.get(WEIGHTS) ?? 0;
    const child = spawn(process.execPath, [resolve('bin/pixtral.js'), 'pull', REPO], {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    while ((hub.sent.get(WEIGHTS) ?? 0) - sentBefore < 2_500_000) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await exited;
    hub.faults.bytesPerSecond = 0;
    const partial = join(new RepoCache(env.HF_HUB_CACHE!, REPO).dir, 'blobs', `${weightsEtag}.incomplete`);
    const kept = statSync(partial).size;
    assert.ok(kept > 0, 'the killed pull left its part');
    assert.ok(!blobs(env).includes(weightsEtag));

    const from = hub.requests.length;
    const again = await pixtralAsync(['pull', REPO], 60_000, env);
    assert.equal(again.status, 0, again.stderr);
    const cdn = hub.requests.slice(from).filter((r) => r.server === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0]!.range, `bytes=${kept}-`);
    assert.match(again.stderr, /consolidated\.safetensors: resuming at/);
    const cache = new RepoCache(env.HF_HUB_CACHE!, REPO);
    const commit = hub.commitOf(REPO);
    assert.equal(again.stdout.trim(), cache.snapshotDir(commit));
    assert.equal(sha256(readFileSync(cache.cachedFile(commit, WEIGHTS)!)), weightsEtag);
    assert.deepEqual(cache.snapshotFiles(commit).sort(), [
      'consolidated.safetensors',
      'params.json',
      'tekken.json',
    ]);

    const third = hub.requests.length;
    const once = await pixtralAsync(['pull', REPO], 60_000, env);
    assert.equal(once.status, 0, once.stderr);
    assert.match(once.stderr, /already in the cache, nothing downloaded/);
    assert.deepEqual(
      hub.requests.slice(third).filter((r) => r.path.includes('/resolve/') || r.server === 'cdn'),
      [],
    );
  });

  it('a gated repo without a token says to accept the licence and set HF_TOKEN; the token file works', async () => {
    const env = freshEnv();
    const denied = await pixtralAsync(['pull', 'tests/gated-pixtral'], 60_000, env);
    assert.equal(denied.status, 1);
    assert.equal(
      denied.stderr.trim().split('\n').pop(),
      `pixtral pull: tests/gated-pixtral is gated (no token was given): accept the licence at ${hub.url}/tests/gated-pixtral and set HF_TOKEN (or pass --token)`,
    );
    const withEnv = await pixtralAsync(['pull', 'tests/gated-pixtral'], 60_000, {
      ...env,
      HF_TOKEN: hub.token,
    });
    assert.equal(withEnv.status, 0, withEnv.stderr);
    const other = freshEnv();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(other.HF_HOME!, { recursive: true });
    writeFileSync(join(other.HF_HOME!, 'token'), hub.token + '\n');
    const withFile = await pixtralAsync(['pull', 'tests/gated-pixtral'], 60_000, other);
    assert.equal(withFile.status, 0, withFile.stderr);
  });

  it('a checksum that stays wrong, a full disk and a connection that keeps dropping: one line each', async () => {
    let env = freshEnv();
    hub.faults.corrupt.set(WEIGHTS, { times: 2 });
    assertCleanFailure(
      await pixtralAsync(['pull', REPO], 60_000, env),
      /^pixtral pull: consolidated\.safetensors: checksum mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); the download was deleted, run the pull again$/,
      env,
    );
    assert.ok(!blobs(env).includes(`${weightsEtag}.incomplete`));

    env = freshEnv();
    assertCleanFailure(
      await pixtralAsync(['pull', REPO], 60_000, { ...env, PIXTRAL_TEST_FAIL_WRITE_AFTER: '1000000' }),
      /^pixtral pull: no space left on the device writing .*\.incomplete \(\d+ of \d+ bytes kept\); free some space and run the pull again to resume$/,
      env,
    );

    env = freshEnv();
    hub.faults.drop.set(WEIGHTS, { afterBytes: 500_000, times: 3 });
    assertCleanFailure(
      await pixtralAsync(['pull', REPO], 60_000, env),
      /^pixtral pull: connection lost while reading consolidated\.safetensors \(.+\)$/,
      env,
    );
    assert.ok(blobs(env).includes(`${weightsEtag}.incomplete`), 'kept for the next pull to resume');
    const resumed = await pixtralAsync(['pull', REPO], 60_000, env);
    assert.equal(resumed.status, 0, resumed.stderr);
  });
});
