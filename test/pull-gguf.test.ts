/**
 * Pulling one GGUF quantization: `pixtral pull org/name:Q8_0` against a hub on loopback fetches that text file and
 * the projector, not the repository's other quants; `--model org/name:Q8_0` then runs it from the cache, even
 * once another quant shares the snapshot folder.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Checkpoint } from '../src/checkpoint/index.js';
import { exportGguf } from '../src/checkpoint/gguf/gguf-export.js';
import { demoModelDir } from '../src/demo/embedded-model.js';
import { RepoCache } from '../src/hub/cache-layout.js';
import { pixtralAsync } from './helpers/cli.js';
import { freshHubEnv } from './helpers/hub-fixture.js';
import { LocalHub } from './helpers/local-hub.js';

const REPO = 'tests/pixtral-demo-GGUF';
const dir = mkdtempSync(join(tmpdir(), 'pixtral-pull-gguf-'));
let hub: LocalHub;

before(async () => {
  // The repository as llama.cpp's ecosystem publishes it: several quants of the text model, one projector.
  const source = Checkpoint.open(demoModelDir());
  for (const type of ['q8_0', 'q4_0'] as const)
    exportGguf(source, source.tokenizerFile, join(dir, type), { type });
  source.close();
  const file = (from: string, name: string, as = name) => ({
    path: as,
    bytes: readFileSync(join(dir, from, name)),
    lfs: true,
  });
  hub = await LocalHub.start();
  hub.addRepo({
    id: REPO,
    files: [
      file('q8_0', 'model-Q8_0.gguf', 'pixtral-demo-Q8_0.gguf'),
      file('q4_0', 'model-Q4_0.gguf', 'pixtral-demo-Q4_0.gguf'),
      file('q8_0', 'mmproj-Q8_0.gguf', 'mmproj-pixtral-demo-Q8_0.gguf'),
      { path: 'README.md', bytes: Buffer.from('# demo GGUF\n'), lfs: false },
    ],
  });
});
after(() => {
  hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pixtral pull org/name:QUANT', () => {
  it('fetches that quant and the projector only, and --model org/name:QUANT runs it', async () => {
    const env = freshHubEnv(hub.url);
    const pulled = await pixtralAsync(['pull', `${REPO}:Q8_0`], 60_000, env);
    assert.equal(pulled.status, 0, pulled.stderr);
    const cache = new RepoCache(env.HF_HUB_CACHE!, REPO);
    const commit = hub.commitOf(REPO);
    assert.deepEqual(cache.snapshotFiles(commit).sort(), [
      'mmproj-pixtral-demo-Q8_0.gguf',
      'pixtral-demo-Q8_0.gguf',
    ]);
    assert.ok(!hub.requests.some((r) => r.path.includes('Q4_0')), 'the other quant is never downloaded');

    const answer = await pixtralAsync(
      ['run', '--model', `${REPO}:Q8_0`, '--max-tokens', '12', 'Hello!'],
      60_000,
      env,
    );
    assert.equal(answer.status, 0, answer.stderr);
    assert.match(answer.stdout, /Pixtral demo/);

    // A second quant in the same snapshot folder: each name still loads its own file.
    const second = await pixtralAsync(['pull', `${REPO}:Q4_0`], 60_000, env);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(readdirSync(cache.snapshotDir(commit)).filter((f) => !f.includes('mmproj')).length, 2);
    for (const quant of ['Q8_0', 'Q4_0']) {
      const run = await pixtralAsync(
        ['run', '--model', `${REPO}:${quant}`, '--max-tokens', '12', 'Hello!'],
        60_000,
        env,
      );
      assert.equal(run.status, 0, `${quant}: ${run.stderr}`);
    }
    const missing = await pixtralAsync(['pull', `${REPO}:Q5_K_M`], 60_000, env);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no \*Q5_K_M\*\.gguf \(it has Q4_0, Q8_0\)/);
  });
});
