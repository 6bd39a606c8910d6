/** The hub client and the downloader against a hub on loopback: layout, resume, tokens, checksums, faults. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RepoCache } from '../src/hub/cache-layout.js';
import { selectFiles } from '../src/hub/file-selection.js';
import { HubClient } from '../src/hub/hub-client.js';
import { HubError } from '../src/hub/hub-errors.js';
import { parseModelRef } from '../src/hub/model-ref.js';
import { pullModel, type PullOptions } from '../src/hub/pull.js';
import { bothLayoutsFiles, ggufFiles, hfLayoutFiles, mistralLayoutFiles } from './helpers/hub-fixture.js';
import { gitBlobSha1, LocalHub, sha256 } from './helpers/local-hub.js';
import { scratchDir } from './helpers/scratch.js';

let hub: LocalHub;
before(async () => {
  hub = await LocalHub.start();
  hub.addRepo({ id: 'tests/tiny-pixtral', files: mistralLayoutFiles() });
  hub.addRepo({ id: 'tests/gated-pixtral', files: mistralLayoutFiles(), gated: true });
  hub.addRepo({ id: 'tests/both-layouts', files: bothLayoutsFiles() });
});
after(() => hub.close());

function freshOptions(extra: Partial<PullOptions> = {}): PullOptions {
  return {
    cacheDir: scratchDir('pixtral-pull-'),
    revision: 'main',
    parallel: 3,
    download: { attempts: 3, retryDelayMs: 10 },
    ...extra,
  };
}

const client = (token: string | null = null) => new HubClient(hub.url, token);
const tiny = parseModelRef('tests/tiny-pixtral');
const WEIGHTS = 'consolidated.safetensors';

/** Every CDN request made after `from`, for one file's blob. */
function cdnRequests(from: number, etag: string) {
  return hub.requests.slice(from).filter((r) => r.server === 'cdn' && r.path.endsWith(etag));
}

describe('hub revision API', () => {
  it('gives the commit and each file with its size and etag (LFS sha256, else git blob sha1)', async () => {
    const revision = await client().revision('tests/tiny-pixtral', 'main');
    assert.equal(revision.commit, hub.commitOf('tests/tiny-pixtral'));
    assert.match(revision.commit, /^[0-9a-f]{40}$/);
    const byName = Object.fromEntries(revision.files.map((f) => [f.path, f]));
    const weights = readFileSync(join('../shared/fixtures/tiny-pixtral/model-consolidated', WEIGHTS));
    assert.deepEqual(byName[WEIGHTS], {
      path: WEIGHTS,
      size: weights.length,
      etag: sha256(weights),
      lfs: true,
    });
    const params = mistralLayoutFiles().find((f) => f.path === 'params.json')!;
    assert.equal(byName['params.json']!.etag, gitBlobSha1(params.bytes));
    assert.equal(byName['params.json']!.lfs, false);
  });

  it('names a missing repo and a missing revision', async () => {
    await assert.rejects(client().revision('tests/nope', 'main'), { kind: 'repo-not-found' });
    await assert.rejects(client().revision('tests/tiny-pixtral', 'v9'), /has no revision "v9"/);
  });
});

describe('choosing files', () => {
  const names = (files: { path: string }[]) => files.map((f) => f.path);
  it('takes the Mistral layout when a repo has both, and only what the engine needs', () => {
    assert.deepEqual(selectFiles('r', names(bothLayoutsFiles()), { kind: 'engine' }), {
      layout: 'consolidated',
      files: ['params.json', 'consolidated.safetensors', 'tekken.json'],
    });
    const hf = selectFiles('r', names(hfLayoutFiles()), { kind: 'engine' });
    assert.equal(hf.layout, 'hf');
    assert.ok(hf.files.includes('model-00002-of-00002.safetensors') && hf.files.includes('tokenizer.json'));
  });

  it('takes a GGUF quantization with the projector, or one named file', () => {
    const gguf = names(ggufFiles());
    assert.deepEqual(selectFiles('r', gguf, parseModelRef('r/x:Q4_K_M').choice).files, [
      'pixtral-12b-Q4_K_M.gguf',
      'mmproj-pixtral-12b-f16.gguf',
    ]);
    assert.throws(() => selectFiles('r', gguf, parseModelRef('r/x:Q5_K_S').choice), /it has Q4_K_M, Q8_0/);
    assert.throws(
      () => selectFiles('r', gguf, { kind: 'engine' }),
      /name a quantization \(r:Q4_K_M, r:Q8_0\)/,
    );
    assert.deepEqual(selectFiles('r', gguf, parseModelRef('r/x:pixtral-12b-Q8_0.gguf').choice).files, [
      'pixtral-12b-Q8_0.gguf',
    ]);
  });

  it('resolves aliases and rejects what is not a repo', () => {
    assert.equal(parseModelRef('pixtral-12b').repo, 'mistralai/Pixtral-12B-2409');
    assert.throws(() => parseModelRef('not a repo'), /not a hub model/);
  });
});

describe('pulling into the cache', () => {
  it('writes blobs named by etag, relative snapshot links and refs/main; a second pull fetches nothing', async () => {
    const options = freshOptions();
    const first = await pullModel(client(), tiny, options);
    assert.equal(first.layout, 'consolidated');
    assert.deepEqual(Object.values(first.outcomes), ['downloaded', 'downloaded', 'downloaded']);
    const cache = new RepoCache(options.cacheDir, 'tests/tiny-pixtral');
    assert.equal(readFileSync(join(cache.dir, 'refs', 'main'), 'utf8'), first.commit);
    for (const file of first.files) {
      assert.equal(readlinkSync(cache.snapshotFile(first.commit, file.path)), `../../blobs/${file.etag}`);
      assert.equal(statSync(cache.blobPath(file.etag)).size, file.size);
    }
    assert.deepEqual(
      readdirSync(join(cache.dir, 'blobs')).filter((n) => n.endsWith('.incomplete')),
      [],
    );
    assert.ok(!existsSync(cache.snapshotFile(first.commit, 'README.md')), 'only what the engine needs');

    const before = hub.requests.length;
    const second = await pullModel(client(), tiny, options);
    assert.deepEqual(Object.values(second.outcomes), ['cached', 'cached', 'cached']);
    assert.deepEqual(
      hub.requests.slice(before).map((r) => r.path.split('?')[0]),
      ['/api/models/tests/tiny-pixtral/revision/main'],
      'one API call, no file transfer',
    );
  });

  it('resumes a dropped connection with a Range request and checks the whole file', async () => {
    const options = freshOptions();
    hub.faults.drop.set(WEIGHTS, { afterBytes: 3_000_000, times: 1 });
    const from = hub.requests.length;
    const resumed: number[] = [];
    const result = await pullModel(client(), tiny, {
      ...options,
      eventsFor: () => ({ onResume: (offset) => resumed.push(offset) }),
    });
    const weights = result.files.find((f) => f.path === WEIGHTS)!;
    const ranges = cdnRequests(from, weights.etag).map((r) => r.range);
    assert.equal(ranges.length, 2);
    assert.equal(ranges[0], null);
    assert.match(ranges[1]!, /^bytes=\d+-$/);
    assert.ok(Number(/\d+/.exec(ranges[1]!)![0]) >= 3_000_000 - 64 * 1024, ranges[1]!);
    assert.equal(resumed.length, 1);
    const blob = new RepoCache(options.cacheDir, tiny.repo).blobPath(weights.etag);
    assert.equal(sha256(readFileSync(blob)), weights.etag);
  });

  it('sends the token to the hub but not to the CDN', async () => {
    const from = hub.requests.length;
    await pullModel(client(hub.token), parseModelRef('tests/gated-pixtral'), freshOptions());
    const seen = hub.requests.slice(from);
    assert.ok(seen.some((r) => r.server === 'cdn'));
    for (const r of seen)
      assert.equal(
        r.authorization,
        r.server === 'hub' ? `Bearer ${hub.token}` : null,
        `${r.server} ${r.path}`,
      );
  });

  it('says how to get into a gated repo, without and with a token lacking access', async () => {
    const gated = parseModelRef('tests/gated-pixtral');
    const page = `${hub.url}/tests/gated-pixtral`;
    await assert.rejects(pullModel(client(), gated, freshOptions()), (err: HubError) => {
      assert.equal(err.kind, 'gated');
      assert.equal(
        err.message,
        `tests/gated-pixtral is gated (no token was given): accept the licence at ${page} and set HF_TOKEN (or pass --token)`,
      );
      return true;
    });
    await assert.rejects(
      pullModel(client('hf_wrong'), gated, freshOptions()),
      /\(the token in use has no access to it\): accept the licence at/,
    );
  });

  it('fetches a corrupt download once more, and fails cleanly when it stays corrupt', async () => {
    hub.faults.corrupt.set(WEIGHTS, { times: 1 });
    const retries: string[] = [];
    const options = freshOptions({ parallel: 1 });
    await pullModel(client(), tiny, { ...options, eventsFor: () => ({ onRetry: (l) => retries.push(l) }) });
    assert.match(retries.join('\n'), /consolidated\.safetensors: checksum mismatch .* fetching it again/);

    hub.faults.corrupt.set(WEIGHTS, { times: 2 });
    const broken = freshOptions();
    await assert.rejects(pullModel(client(), tiny, broken), (err: HubError) => {
      assert.equal(err.kind, 'checksum');
      assert.match(
        err.message,
        /^consolidated\.safetensors: checksum mismatch \(expected [0-9a-f]{64}, got [0-9a-f]{64}\); the download was deleted, run the pull again$/,
      );
      return true;
    });
    assertNoWeights(broken.cacheDir, { incomplete: false });
  });

  it('keeps the partial file, and no blob, when the connection keeps dropping', async () => {
    hub.faults.drop.set(WEIGHTS, { afterBytes: 1_000_000, times: 3 });
    const options = freshOptions();
    await assert.rejects(pullModel(client(), tiny, options), (err: HubError) => {
      assert.equal(err.kind, 'network');
      assert.match(err.message, /connection lost while reading consolidated\.safetensors/);
      return true;
    });
    assertNoWeights(options.cacheDir, { incomplete: true });
    // The next pull resumes from the partial file.
    const from = hub.requests.length;
    await pullModel(client(), tiny, options);
    const etag = new RepoCache(options.cacheDir, tiny.repo)
      .blobOf(hub.commitOf(tiny.repo), WEIGHTS)!
      .split('/')
      .pop()!;
    assert.match(cdnRequests(from, etag)[0]!.range ?? '', /^bytes=[1-9]\d*-$/);
  });

  it('stops on a full disk with the written part kept as .incomplete', async () => {
    const options = freshOptions({ download: { attempts: 3, retryDelayMs: 10, failWriteAfter: 2_000_000 } });
    await assert.rejects(pullModel(client(), tiny, options), (err: HubError) => {
      assert.equal(err.kind, 'disk');
      assert.match(
        err.message,
        /^no space left on the device writing .*\.incomplete \(\d+ of \d+ bytes kept\); free some space and run the pull again to resume$/,
      );
      return true;
    });
    assertNoWeights(options.cacheDir, { incomplete: true });
  });

  it('remembers a file the revision lacks under .no_exist', async () => {
    const options = freshOptions();
    await assert.rejects(pullModel(client(), parseModelRef('tests/tiny-pixtral:nope.json'), options), {
      kind: 'entry-not-found',
    });
    const cache = new RepoCache(options.cacheDir, tiny.repo);
    assert.ok(cache.isMarkedMissing(hub.commitOf(tiny.repo), 'nope.json'));
  });

  it('two pulls of one file at once: one downloads, the other links its blob', async () => {
    const options = freshOptions();
    const results = await Promise.all([
      pullModel(client(), tiny, options),
      pullModel(client(), tiny, options),
    ]);
    const outcomes = results.map((r) => r.outcomes[WEIGHTS]).sort();
    assert.ok(outcomes[0] !== 'downloaded' || outcomes[1] !== 'downloaded', outcomes.join());
    assert.ok(outcomes.includes('downloaded'));
  });
});

/** The weights file is not in the snapshot, has no blob, and has (or has not) a `.incomplete` part. */
function assertNoWeights(cacheDir: string, expect: { incomplete: boolean }): void {
  const cache = new RepoCache(cacheDir, tiny.repo);
  const commit = hub.commitOf(tiny.repo);
  assert.equal(cache.cachedFile(commit, WEIGHTS), null);
  const blobs = readdirSync(join(cache.dir, 'blobs'));
  const weightsEtag = sha256(mistralLayoutFiles().find((f) => f.path === WEIGHTS)!.bytes);
  assert.ok(!blobs.includes(weightsEtag), 'no blob that looks complete');
  assert.equal(blobs.includes(`${weightsEtag}.incomplete`), expect.incomplete);
}
