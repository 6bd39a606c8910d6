/** `--model NAME` everywhere: the resolution order, run-by-name from the cache, a cache laid out by Python, list and rm. */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RepoCache } from '../src/hub/cache-layout.js';
import { HubError } from '../src/hub/hub-errors.js';
import { resolveModel } from '../src/hub/resolve-model.js';
import { pixtralAsync } from './helpers/cli.js';
import { fixturePath } from './helpers/fixtures.js';
import { freshHubEnv, mistralLayoutFiles } from './helpers/hub-fixture.js';
import { gitBlobSha1, LocalHub, sha256 } from './helpers/local-hub.js';
import { scratchDir } from './helpers/scratch.js';

const REPO = 'tests/tiny-pixtral';
let hub: LocalHub;
before(async () => {
  hub = await LocalHub.start();
  hub.addRepo({ id: REPO, files: mistralLayoutFiles() });
});
after(() => hub.close());

const freshEnv = () => freshHubEnv(hub.url);

const RUN = ['--max-tokens', '3', '--temperature', '0', 'Hello'];

/**
 * The HF layout fixture placed in a cache exactly as huggingface_hub's file_download.py would: blobs named by
 * etag (sha256 for LFS files, git blob sha1 otherwise), relative snapshot links, refs/main.
 */
function pythonLaidOutCache(cacheDir: string, repo: string): string {
  const cache = new RepoCache(cacheDir, repo);
  const commit = 'c0ffee'.padEnd(40, '0');
  mkdirSync(join(cache.dir, 'blobs'), { recursive: true });
  for (const name of readdirSync(fixturePath('model-hf'))) {
    const bytes = readFileSync(fixturePath('model-hf', name));
    const etag = name.endsWith('.safetensors') ? sha256(bytes) : gitBlobSha1(bytes);
    copyFileSync(fixturePath('model-hf', name), cache.blobPath(etag));
    cache.linkSnapshot(commit, name, etag);
  }
  mkdirSync(join(cache.dir, 'refs'), { recursive: true });
  writeFileSync(join(cache.dir, 'refs', 'main'), commit);
  return commit;
}

describe('resolving --model', () => {
  it('takes a path, then builtin:, then an alias or org/name from the cache, else asks the caller', async () => {
    const cacheDir = scratchDir('pixtral-resolve-cache-');
    const refuse = async () => {
      throw new HubError('not-cached', 'missing');
    };
    const folder = fixturePath('model-consolidated');
    assert.deepEqual(await resolveModel(folder, { cacheDir, onMissing: refuse }), {
      kind: 'path',
      location: folder,
    });
    assert.equal((await resolveModel('builtin:tiny', { cacheDir, onMissing: refuse })).kind, 'builtin');
    await assert.rejects(resolveModel('org/model', { cacheDir, onMissing: refuse }), /missing/);
    await assert.rejects(resolveModel('pixtral-12b', { cacheDir, onMissing: refuse }), /missing/);
    const asked: string[] = [];
    await assert.rejects(
      resolveModel('pixtral-12b', {
        cacheDir,
        onMissing: async (ref, revision) => {
          asked.push(`${ref.repo}@${revision}`);
          throw new Error('stop');
        },
      }),
    );
    assert.deepEqual(asked, ['mistralai/Pixtral-12B-2409@main']);
    const commit = pythonLaidOutCache(cacheDir, 'org/model');
    const found = await resolveModel('org/model', { cacheDir, onMissing: refuse });
    assert.equal(found.location, new RepoCache(cacheDir, 'org/model').snapshotDir(commit));
    assert.equal(found.kind === 'hub' && found.model.layout, 'hf');
    // A missing path that is not a hub name stays a path, for the loader's own message.
    assert.equal((await resolveModel('./no/such/dir', { cacheDir, onMissing: refuse })).kind, 'path');
  });
});

describe('run by name', () => {
  it('refuses without a terminal, naming the pull command; --pull fetches, then runs from the cache', async () => {
    const env = freshEnv();
    const refused = await pixtralAsync(['run', '--model', REPO, ...RUN], 60_000, env);
    assert.equal(refused.status, 1);
    assert.equal(
      refused.stderr.trim(),
      `pixtral run: ${REPO} is not in the Hugging Face cache (${env.HF_HUB_CACHE}): run "pixtral pull ${REPO}" first, or add --pull`,
    );
    const pulled = await pixtralAsync(['run', '--model', REPO, '--pull', ...RUN], 60_000, env);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /3 of 3 files downloaded and verified/);
    assert.ok(pulled.stdout.trim().length > 0, 'it answered');

    const from = hub.requests.length;
    const again = await pixtralAsync(['run', '--model', REPO, ...RUN], 60_000, {
      ...env,
      HF_ENDPOINT: 'http://127.0.0.1:9',
    });
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, pulled.stdout, 'same answer, from the cache, with no hub at all');
    assert.equal(hub.requests.length, from);
  });

  it('uses a model laid out in the cache by Python tools, in every command', async () => {
    const env: Record<string, string> = { ...freshEnv(), HF_ENDPOINT: 'http://127.0.0.1:9' };
    pythonLaidOutCache(env.HF_HUB_CACHE!, 'community/tiny-hf');
    const inspect = await pixtralAsync(['inspect', 'community/tiny-hf', '--json'], 60_000, env);
    assert.equal(inspect.status, 0, inspect.stderr);
    assert.equal(JSON.parse(inspect.stdout).layout, 'hf');
    const tokens = await pixtralAsync(
      ['tokenize', '--model', 'community/tiny-hf', '--text', 'Hello'],
      60_000,
      env,
    );
    assert.equal(tokens.status, 0, tokens.stderr);
    const run = await pixtralAsync(['run', '--model', 'community/tiny-hf', ...RUN], 60_000, env);
    assert.equal(run.status, 0, run.stderr);
  });
});

describe('pixtral list and rm', () => {
  it('lists cached models and removes the HF snapshot only with --hf-cache', async () => {
    const env = freshEnv();
    assert.equal((await pixtralAsync(['pull', REPO], 60_000, env)).status, 0);
    const list = await pixtralAsync(['list', '--json'], 60_000, env);
    assert.equal(list.status, 0, list.stderr);
    const rows = JSON.parse(list.stdout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].name, REPO);
    assert.equal(rows[0].revision, 'main');
    assert.equal(rows[0].layout, 'consolidated');
    assert.ok(rows[0].bytes > 10_000_000);
    const table = await pixtralAsync(['list'], 60_000, env);
    assert.match(table.stdout, /^NAME\s+REVISION\s+LAYOUT\s+QUANTIZED\s+SIZE\n/);
    assert.match(table.stdout, /tests\/tiny-pixtral\s+main\s+consolidated\s+-\s+18\.\d MiB/);

    const kept = await pixtralAsync(['rm', REPO], 60_000, env);
    assert.equal(kept.status, 0, kept.stderr);
    assert.match(
      kept.stderr,
      /kept tests\/tiny-pixtral in the Hugging Face cache .*; add --hf-cache to remove it there too/,
    );
    const cache = new RepoCache(env.HF_HUB_CACHE!, REPO);
    assert.ok(existsSync(cache.dir));
    const removed = await pixtralAsync(['rm', REPO, '--hf-cache'], 60_000, env);
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(
      removed.stdout,
      /removed the Hugging Face snapshot of tests\/tiny-pixtral at [0-9a-f]{12} \(18\.\d MiB freed\)/,
    );
    assert.ok(!existsSync(cache.dir));
  });
});
