/** A hub model too large for the memory available runs from a quantized copy made once, keyed by its commit. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QuantizedStore } from '../src/hub/quantized-store.js';
import { pixtralAsync } from './helpers/cli.js';
import { mistralLayoutFiles } from './helpers/hub-fixture.js';
import { LocalHub } from './helpers/local-hub.js';
import { scratchDir } from './helpers/scratch.js';

const REPO = 'tests/tiny-pixtral';
const RUN = ['run', '--model', REPO, '--max-tokens', '3', '--temperature', '0', 'Hello'];
let hub: LocalHub;
before(async () => {
  hub = await LocalHub.start();
  hub.addRepo({ id: REPO, files: mistralLayoutFiles() });
});
after(() => hub.close());

describe('fitting the machine', () => {
  it('quantizes once to q4 when the weights do not fit, reuses the copy, and again for a new commit', async () => {
    const root = scratchDir('pixtral-fit-');
    const env = {
      HF_ENDPOINT: hub.url,
      HF_HOME: join(root, 'hf-home'),
      HF_HUB_CACHE: join(root, 'hub'),
      HF_TOKEN: '',
      PIXTRAL_HOME: join(root, 'pixtral'),
    };
    const small = { ...env, PIXTRAL_AVAILABLE_MEMORY: '1000000' };
    const store = new QuantizedStore(join(env.PIXTRAL_HOME, 'models'));
    assert.equal((await pixtralAsync(['pull', REPO], 60_000, env)).status, 0);

    const roomy = await pixtralAsync(RUN, 60_000, { ...env, PIXTRAL_AVAILABLE_MEMORY: String(1e12) });
    assert.equal(roomy.status, 0, roomy.stderr);
    assert.deepEqual(store.copies(), [], 'no copy when it fits');

    const first = await pixtralAsync(RUN, 60_000, small);
    assert.equal(first.status, 0, first.stderr);
    assert.match(
      first.stderr,
      /tests\/tiny-pixtral: .* of weights \+ 2 GiB do not fit in .* of free memory; running a q4 copy/,
    );
    const commit = hub.commitOf(REPO);
    assert.ok(store.find(REPO, commit, 'q4'), 'the copy is in our store, keyed by the commit');
    assert.match(
      first.stderr,
      /q4 copy written to .*pixtral\/models\/models--tests--tiny-pixtral\/[0-9a-f]{40}\/q4/,
    );

    const second = await pixtralAsync(RUN, 60_000, small);
    assert.equal(second.status, 0, second.stderr);
    assert.doesNotMatch(second.stderr, /copy written/, 'reused');
    assert.equal(second.stdout, first.stdout);

    const forced = await pixtralAsync([...RUN, '--quant', 'none'], 60_000, small);
    assert.equal(forced.status, 0, forced.stderr);
    assert.doesNotMatch(forced.stderr, /q4 copy/);

    // A new commit on main: blobs are shared, nothing is downloaded, and the copy is made again for it.
    const files = mistralLayoutFiles().map((f) =>
      f.path === 'README.md' ? { ...f, bytes: Buffer.from('# updated card\n') } : f,
    );
    const next = hub.addRepo({ id: REPO, files });
    const pulled = await pixtralAsync(['pull', REPO], 60_000, env);
    assert.equal(pulled.status, 0, pulled.stderr);
    assert.match(pulled.stderr, /already in the cache, nothing downloaded/);
    const third = await pixtralAsync(RUN, 60_000, small);
    assert.equal(third.status, 0, third.stderr);
    assert.match(third.stderr, /q4 copy written/);
    assert.ok(store.find(REPO, next, 'q4'));

    const list = JSON.parse((await pixtralAsync(['list', '--json'], 60_000, env)).stdout);
    assert.deepEqual(
      list.map((r: { commit: string; quantized: string[] }) => [r.commit, r.quantized]).sort(),
      [
        [commit, ['q4']],
        [next, ['q4']],
      ].sort(),
    );
    const rm = await pixtralAsync(['rm', REPO], 60_000, env);
    assert.equal(rm.status, 0, rm.stderr);
    assert.equal((rm.stdout.match(/removed the q4 copy/g) ?? []).length, 2);
    assert.deepEqual(store.copies(), []);
    assert.ok(existsSync(join(env.HF_HUB_CACHE, 'models--tests--tiny-pixtral')), 'the HF cache is untouched');
  });
});
