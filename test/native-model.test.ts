/**
 * The whole model on the native backend: parity with the goldens at the reference tolerance (bf16), quantized
 * checkpoints that load (memory-mapped) to exactly the weights of on-the-fly quantization, and the stated
 * agreement of q8/q4 with full precision.
 */
import assert from 'node:assert/strict';
import { truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadNativeAddon, nativeUnavailableReason } from '../src/backend/native/addon.js';
import { nativeTensorQuantizer } from '../src/backend/native/tensor-quantizer.js';
import { quantizeCheckpoint } from '../src/checkpoint/quantize-checkpoint.js';
import { selectBackend } from '../src/backend/select.js';
import { Checkpoint } from '../src/checkpoint/index.js';
import { QUANTIZED_FILE, QuantizedCheckpoint } from '../src/checkpoint/quantized.js';
import { Engine } from '../src/engine/engine.js';
import { runParity } from '../src/devtools/parity/run-parity.js';
import { measureQuality } from '../src/devtools/quality/quality.js';
import { FIXTURE_DIR, fixturePath, loadGoldens } from './helpers/fixtures.js';
import { pixtral } from './helpers/cli.js';
import { ask, collect, prepare } from './helpers/engine.js';
import { scratchDir } from './helpers/scratch.js';

const addon = loadNativeAddon();
const goldens = loadGoldens();
const modelDir = fixturePath(goldens.model.consolidated);
const scratch = scratchDir('pixtral-native-');

async function greedyTokens(engine: Engine, text: string): Promise<number[]> {
  const { done } = await collect(engine.generate(await prepare(engine, ask(text, 12))));
  return done.tokens;
}

describe(
  'native backend, whole model',
  { skip: addon ? false : `native addon unavailable: ${nativeUnavailableReason()}` },
  () => {
    it('passes every parity check of the fixture set in bf16, at the reference tolerance', async () => {
      const lines: string[] = [];
      const report = await runParity(
        FIXTURE_DIR,
        (l) => lines.push(l),
        'both',
        () => selectBackend({ backend: 'native' }),
      );
      assert.equal(report.count('fail'), 0, lines.filter((l) => l.startsWith('FAIL')).join('\n'));
      assert.ok(report.count('pass') > 100);
    });

    for (const quant of ['q8', 'q4'] as const) {
      it(`a ${quant} checkpoint written by quantize loads memory-mapped and generates like on-the-fly ${quant}`, async () => {
        const out = join(scratch, quant);
        const checkpoint = Checkpoint.open(modelDir);
        quantizeCheckpoint(nativeTensorQuantizer(addon!, quant), {
          source: checkpoint,
          tokenizerFile: checkpoint.tokenizerFile,
          image: checkpoint.image,
          outDir: out,
        });
        checkpoint.close();
        const loaded = QuantizedCheckpoint.open(out, (p, offset, length) =>
          addon!.mapFile(p, offset, length),
        );
        assert.equal(loaded.isMapped, true);
        assert.equal(loaded.quantization, quant);
        loaded.close();
        const inspected = JSON.parse(pixtral(['inspect', out, '--json']).stdout);
        assert.equal(inspected.layout, 'quantized');
        assert.equal(inspected.quantization, quant);
        const fromFile = Engine.load(out, { backend: { backend: 'native' } });
        const onTheFly = Engine.load(modelDir, { backend: { backend: 'native', quant } });
        for (const text of ['Hello there.', 'Describe a receipt.'])
          assert.deepEqual(await greedyTokens(fromFile, text), await greedyTokens(onTheFly, text));
      });
    }

    it('refuses a damaged quantized checkpoint with a message naming the file', () => {
      const out = join(scratch, 'damaged');
      const checkpoint = Checkpoint.open(modelDir);
      quantizeCheckpoint(nativeTensorQuantizer(addon!, 'q4'), {
        source: checkpoint,
        tokenizerFile: checkpoint.tokenizerFile,
        image: checkpoint.image,
        outDir: out,
      });
      checkpoint.close();
      const file = join(out, QUANTIZED_FILE);
      truncateSync(file, statSync(file).size - 100);
      assert.throws(
        () => QuantizedCheckpoint.open(out),
        (err: Error) => err.message.includes(QUANTIZED_FILE),
      );
      const cli = pixtral(['run', '--model', out, 'hi']);
      assert.equal(cli.status, 1);
      assert.match(cli.stderr, /pixtral-quantized\.safetensors/);
    });

    it('q8 and q4 stay close to full precision on the demo model (thresholds for random weights)', async () => {
      // builtin:tiny has random weights, so its next-token distributions are nearly flat: KL is the meaningful
      // figure; top-1 agreement is reported with a loose floor. Real checkpoints are checked with `pixtral quality`.
      const q8 = await measureQuality(
        'builtin:tiny',
        { backend: 'native' },
        { backend: 'native', quant: 'q8' },
      );
      const q4 = await measureQuality(
        'builtin:tiny',
        { backend: 'native' },
        { backend: 'native', quant: 'q4' },
      );
      assert.ok(q8.meanKl < 1e-4, `q8 mean KL ${q8.meanKl}`);
      assert.ok(q8.top1Agreement >= 0.9, `q8 top-1 ${q8.top1Agreement}`);
      assert.ok(q4.meanKl < 2e-3, `q4 mean KL ${q4.meanKl}`);
      assert.ok(q4.meanKl > q8.meanKl, 'fewer bits, more divergence');
      assert.ok(q4.top1Agreement >= 0.5, `q4 top-1 ${q4.top1Agreement}`);
    });

    it('without the native kernels the CLI runs on the reference backend and says so once', () => {
      const run = pixtral(
        ['run', '--model', modelDir, '--max-tokens', '3', '--temperature', '0', 'Hi'],
        60_000,
        {
          PIXTRAL_NO_NATIVE: '1',
        },
      );
      assert.equal(run.status, 0, run.stderr);
      assert.equal(run.stderr.match(/native kernels unavailable/g)?.length, 1, run.stderr);
      assert.ok(run.stdout.length > 0);
      const insist = pixtral(['run', '--model', modelDir, '--backend', 'native', 'Hi'], 60_000, {
        PIXTRAL_NO_NATIVE: '1',
      });
      assert.equal(insist.status, 1);
      assert.match(insist.stderr, /native kernels are not available/);
    });

    it('quantize rejects a bad target and a missing model with one line', () => {
      const bad = pixtral(['quantize', modelDir, '--to', 'q3', join(scratch, 'x')]);
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--to must be q8 or q4/);
      const missing = pixtral(['quantize', join(scratch, 'nope'), '--to', 'q8', join(scratch, 'y')]);
      assert.equal(missing.status, 1);
      assert.match(missing.stderr, /does not exist/);
    });
  },
);
