import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cachedRepos, RepoCache, repoFolderName } from '../src/hub/cache-layout.js';
import { withFileLock } from '../src/hub/file-lock.js';
import { hubCacheDir, hubToken } from '../src/hub/hub-settings.js';
import { scratchDir } from './helpers/scratch.js';

const COMMIT_A = 'a'.repeat(40);
const COMMIT_B = 'b'.repeat(40);

function freshCache(): RepoCache {
  return new RepoCache(scratchDir('pixtral-hub-cache-'), 'org/tiny-model');
}

function putBlob(cache: RepoCache, etag: string, text: string): void {
  mkdirSync(join(cache.dir, 'blobs'), { recursive: true });
  writeFileSync(cache.blobPath(etag), text);
}

describe('Hugging Face cache layout', () => {
  it('names folders, blobs, locks and snapshots as huggingface_hub does', () => {
    assert.equal(repoFolderName('mistralai/Pixtral-12B-2409'), 'models--mistralai--Pixtral-12B-2409');
    const cache = new RepoCache('/c', 'mistralai/Pixtral-12B-2409');
    assert.equal(cache.blobPath('e1'), '/c/models--mistralai--Pixtral-12B-2409/blobs/e1');
    assert.equal(cache.incompletePath('e1'), '/c/models--mistralai--Pixtral-12B-2409/blobs/e1.incomplete');
    assert.equal(cache.lockPath('e1'), '/c/.locks/models--mistralai--Pixtral-12B-2409/e1.lock');
    assert.equal(
      cache.snapshotFile(COMMIT_A, 'params.json'),
      `/c/models--mistralai--Pixtral-12B-2409/snapshots/${COMMIT_A}/params.json`,
    );
  });

  it('finds the environment variables in huggingface_hub order', () => {
    assert.equal(hubCacheDir({ HF_HUB_CACHE: '/x', HF_HOME: '/h' }), '/x');
    assert.equal(hubCacheDir({ HF_HOME: '/h' }), '/h/hub');
    assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/xdg' }), '/xdg/huggingface/hub');
    const home = scratchDir('pixtral-hf-home-');
    writeFileSync(join(home, 'token'), 'hf_from_file\n');
    assert.equal(hubToken(undefined, { HF_HOME: home }), 'hf_from_file');
    assert.equal(hubToken(undefined, { HF_HOME: home, HF_TOKEN: 'hf_env' }), 'hf_env');
    assert.equal(hubToken('hf_flag', { HF_HOME: home, HF_TOKEN: 'hf_env' }), 'hf_flag');
    assert.equal(hubToken(undefined, { HF_HOME: join(home, 'none') }), null);
  });

  it('links snapshot files to blobs with relative links, one ../ per folder', () => {
    const cache = freshCache();
    putBlob(cache, 'e1', 'params');
    putBlob(cache, 'e2', 'nested');
    cache.linkSnapshot(COMMIT_A, 'params.json', 'e1');
    cache.linkSnapshot(COMMIT_A, 'sub/dir/x.json', 'e2');
    assert.equal(readlinkSync(cache.snapshotFile(COMMIT_A, 'params.json')), '../../blobs/e1');
    assert.equal(readlinkSync(cache.snapshotFile(COMMIT_A, 'sub/dir/x.json')), '../../../../blobs/e2');
    assert.equal(readFileSync(cache.cachedFile(COMMIT_A, 'sub/dir/x.json')!, 'utf8'), 'nested');
    assert.deepEqual(cache.snapshotFiles(COMMIT_A).sort(), ['params.json', 'sub/dir/x.json']);
    // Relinking replaces the link in place.
    putBlob(cache, 'e3', 'params v2');
    cache.linkSnapshot(COMMIT_A, 'params.json', 'e3');
    assert.equal(readFileSync(cache.cachedFile(COMMIT_A, 'params.json')!, 'utf8'), 'params v2');
    assert.deepEqual(
      cachedRepos(cache.cacheDir).map((r) => r.repoId),
      ['org/tiny-model'],
    );
  });

  it('a dangling link is not a cached file', () => {
    const cache = freshCache();
    cache.linkSnapshot(COMMIT_A, 'params.json', 'never-downloaded');
    assert.equal(cache.cachedFile(COMMIT_A, 'params.json'), null);
  });

  it('keeps refs without a newline and resolves revisions to commits', () => {
    const cache = freshCache();
    cache.writeRef('main', COMMIT_A);
    cache.writeRef('refs/pr/1', COMMIT_B);
    cache.writeRef(COMMIT_B, COMMIT_B); // a commit needs no ref
    assert.equal(readFileSync(join(cache.dir, 'refs', 'main'), 'utf8'), COMMIT_A);
    assert.deepEqual(cache.refs(), { main: COMMIT_A, 'refs/pr/1': COMMIT_B });
    assert.equal(cache.commitOf('main'), COMMIT_A);
    assert.equal(cache.commitOf('dev'), null);
    assert.equal(cache.commitOf(COMMIT_B), null, 'no snapshot yet');
    mkdirSync(cache.snapshotDir(COMMIT_B), { recursive: true });
    assert.equal(cache.commitOf(COMMIT_B), COMMIT_B);
  });

  it('marks files a revision lacks under .no_exist', () => {
    const cache = freshCache();
    assert.equal(cache.isMarkedMissing(COMMIT_A, 'tekken.json'), false);
    cache.markMissing(COMMIT_A, 'tekken.json');
    assert.equal(cache.isMarkedMissing(COMMIT_A, 'tekken.json'), true);
    assert.ok(existsSync(join(cache.dir, '.no_exist', COMMIT_A, 'tekken.json')));
  });

  it('removing a snapshot keeps the blobs another snapshot still uses', () => {
    const cache = freshCache();
    putBlob(cache, 'shared', 'same in both');
    putBlob(cache, 'only-a', 'old weights');
    cache.linkSnapshot(COMMIT_A, 'tekken.json', 'shared');
    cache.linkSnapshot(COMMIT_A, 'consolidated.safetensors', 'only-a');
    cache.linkSnapshot(COMMIT_B, 'tekken.json', 'shared');
    cache.writeRef('main', COMMIT_A);
    assert.equal(cache.removeSnapshot(COMMIT_A), 'old weights'.length);
    assert.ok(existsSync(cache.blobPath('shared')));
    assert.ok(!existsSync(cache.blobPath('only-a')));
    assert.deepEqual(cache.refs(), {});
    assert.deepEqual(cache.snapshots(), [COMMIT_B]);
    cache.removeSnapshot(COMMIT_B);
    assert.ok(!existsSync(cache.dir), 'the repo folder goes with its last snapshot');
  });
});

describe('blob locks', () => {
  it('lets one writer in at a time', async () => {
    const path = join(scratchDir('pixtral-lock-'), '.locks', 'x.lock');
    const order: string[] = [];
    let waited = false;
    const first = withFileLock(path, async () => {
      order.push('first in');
      await new Promise((r) => setTimeout(r, 100));
      order.push('first out');
    });
    const second = withFileLock(
      path,
      async () => {
        order.push('second in');
      },
      { pollMs: 10, onWait: () => (waited = true) },
    );
    // Both run in this process: the second sees our own live pid and waits.
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first in', 'first out', 'second in']);
    assert.ok(waited);
    assert.ok(!existsSync(path), 'released');
  });

  it('takes over a lock left by a dead process or by Python', async () => {
    const dir = scratchDir('pixtral-lock-');
    writeFileSync(join(dir, 'dead.lock'), '999999999');
    writeFileSync(join(dir, 'python.lock'), '');
    assert.equal(await withFileLock(join(dir, 'dead.lock'), async () => 1), 1);
    assert.equal(await withFileLock(join(dir, 'python.lock'), async () => 2), 2);
  });
});
