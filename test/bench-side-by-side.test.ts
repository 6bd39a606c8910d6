/**
 * The llama.cpp yardstick harness (`pixtral bench --synthetic 12b --llamacpp DIR`), run against stand-in
 * `llama-bench` and `llama-mtmd-cli` scripts that print what the real tools printed on this project's machine
 * (test/data/llamacpp/, with the commands that produced them), and our side measured for real on a tiny model of
 * the same structure: turns interleave, each side's medians and the ratios come from the runs, the decode bytes
 * from the files, and a missing build or an unsupported level fails in one line.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tinyDemoConfig } from '../src/checkpoint/index.js';
import { readGguf } from '../src/checkpoint/gguf/gguf-file.js';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { KERNEL_CHOICES, requestedKernels } from '../src/backend/native/kernel-choice.js';
import { runSyntheticBench } from '../src/devtools/benchmark/synthetic-12b.js';
import {
  type ComparableTest,
  formatSideBySide,
  runSideBySide,
} from '../src/devtools/benchmark/side-by-side.js';
import { findLlamaCpp } from '../src/devtools/benchmark/llamacpp-runner.js';
import { shapeKey } from '../src/devtools/benchmark/synthetic-gguf.js';
import { pixtral } from './helpers/cli.js';
import { assertOneLineFailure } from './helpers/cli-failure.js';

const dir = mkdtempSync(join(tmpdir(), 'pixtral-side-by-side-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const recorded = resolve('test/data/llamacpp');
const turns = join(dir, 'turns.log');

/** A stand-in tool: logs its turn, then prints the recorded output of the real tool for these arguments. */
function standIn(name: string, body: string): void {
  const path = join(dir, 'bin', name);
  writeFileSync(
    path,
    `#!${process.execPath}
const fs = require('node:fs');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(turns)}, ${JSON.stringify(name)} + ' ' + args.join(' ') + '\\n');
const arg = (flag) => args[args.indexOf(flag) + 1];
${body}
`,
  );
  chmodSync(path, 0o755);
}

describe(
  'bench --llamacpp: our engine and llama.cpp in turns',
  { skip: !loadNativeAddon() && 'native kernels not built' },
  () => {
    // The synthetic models both sides cache in the temporary folder go in this file's own, removed with it.
    const systemTmp = process.env.TMPDIR;
    before(() => {
      process.env.TMPDIR = dir;
    });
    after(() => {
      if (systemTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = systemTmp;
    });
    mkdirSync(join(dir, 'bin'), { recursive: true });
    standIn(
      'llama-bench',
      `const test = Number(arg('-p')) > 0 ? 'pp512' : 'tg32';
process.stdout.write(fs.readFileSync(${JSON.stringify(recorded)} + '/llama-bench-' + test + '.json', 'utf8'));`,
    );
    standIn(
      'llama-mtmd-cli',
      `if (arg('--image-max-tokens') !== '4096') { console.error('1024² would be cut to 512²'); process.exit(3); }
process.stderr.write(fs.readFileSync(${JSON.stringify(recorded)} + '/llama-mtmd-cli-512.stderr.txt', 'utf8'));`,
    );

    it('interleaves the turns, reports both sides from their runs, and counts the bytes a decode step reads', async () => {
      const config = tinyDemoConfig();
      const tests: ComparableTest[] = ['pp512', 'tg32@0', 'vision 512²'];
      const report = await runSideBySide({
        llamaDir: dir,
        rounds: 3,
        threads: 2,
        quant: 'q4',
        layers: config.text.nLayers,
        visionLayers: config.vision!.nLayers,
        config,
        tests,
        log: () => {},
        // Our side for real, on the tiny model, in this process; its turns are logged next to the stand-ins'.
        runOurs: async (test, run) => {
          appendFileSync(turns, `ours ${test}\n`);
          return runSyntheticBench({ ...run, config, tests: [test], log: () => {} });
        },
      });
      const order = readFileSync(turns, 'utf8')
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]);
      const expected = Array.from({ length: 3 }, () => [
        'llama-bench',
        'ours',
        'llama-bench',
        'ours',
        'llama-mtmd-cli',
        'ours',
      ]).flat();
      assert.deepEqual(order, expected);
      const lines = readFileSync(turns, 'utf8').trim().split('\n');
      assert.match(lines[0]!, /-p 512 -n 0 -d 0/);
      assert.match(lines[2]!, /-p 0 -n 32 -d 0/);
      assert.match(lines[0]!, /-t 2 /);

      const pp = JSON.parse(readFileSync(join(recorded, 'llama-bench-pp512.json'), 'utf8'))[0];
      const tg = JSON.parse(readFileSync(join(recorded, 'llama-bench-tg32.json'), 'utf8'))[0];
      const encodeMs = Number(
        /batch encoding done in (\d+) ms/.exec(
          readFileSync(join(recorded, 'llama-mtmd-cli-512.stderr.txt'), 'utf8'),
        )![1],
      );
      const byTest = new Map(report.tests.map((t) => [t.test, t]));
      assert.deepEqual(byTest.get('pp512')!.llama, [pp.avg_ts, pp.avg_ts, pp.avg_ts]);
      assert.deepEqual(byTest.get('tg32@0')!.llama, [tg.avg_ts, tg.avg_ts, tg.avg_ts]);
      assert.deepEqual(byTest.get('vision 512²')!.llama, [encodeMs / 1000, encodeMs / 1000, encodeMs / 1000]);
      for (const t of report.tests) {
        assert.equal(t.ours.length, 3, t.test);
        assert.ok(
          t.ours.every((v) => v > 0 && Number.isFinite(v)),
          t.test,
        );
      }
      // Decode bytes: llama.cpp's from its file (all text tensors but the embedding table), ours from our file.
      const decode = byTest.get('tg32@0')!.decodeBytes!;
      const textShape = shapeKey({ ...config, vision: null });
      const gguf = readGguf(join(tmpdir(), `pixtral-synthetic-gguf-${textShape}-q4_0`, 'model-Q4_0.gguf'));
      assert.equal(
        decode.llama,
        gguf.tensors.filter((t) => t.name !== 'token_embd.weight').reduce((s, t) => s + t.bytes, 0),
      );
      assert.ok(
        decode.ours > 0.9 * decode.llama && decode.ours < 1.1 * decode.llama,
        `${decode.ours} vs ${decode.llama}`,
      );
      assert.equal(byTest.get('pp512')!.decodeBytes, null);

      const table = formatSideBySide(report).join('\n');
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
      const ratio = (median(byTest.get('tg32@0')!.ours) / tg.avg_ts).toFixed(2);
      assert.match(
        table,
        new RegExp(`\\| tg32@0 \\| [^|]+ \\| ${tg.avg_ts.toFixed(2)} tok/s [^|]+ \\| ${ratio}× \\|`),
      );
      const visionRatio = (encodeMs / 1000 / median(byTest.get('vision 512²')!.ours)).toFixed(2);
      assert.match(table, new RegExp(`\\| vision 512² \\| .* \\| ${visionRatio}× \\|`));
      assert.match(table, /^CPU: .+ cores;/m);
      assert.match(
        table,
        /Read bandwidth probe \(\d+ threads, 2 GB, \d+-byte loads, best of 6 passes\): [\d.]+ GB\/s/,
      );
      assert.match(table, /Load average: [\d.]+ before, [\d.]+ after/);
      assert.equal(report.probes.length, 3);
    });

    it('a folder without llama.cpp, an unknown or impossible kernel level: one line each', () => {
      assert.throws(
        () => findLlamaCpp(join(dir, 'nowhere')),
        /nowhere: no llama-bench here, in bin\/ or in build\/bin\//,
      );
      assertOneLineFailure(
        pixtral(['bench', '--synthetic', '12b', '--llamacpp', join(dir, 'nowhere'), '--layers', '1']),
        /no llama-bench here/,
      );
      assertOneLineFailure(
        pixtral(['bench', '--synthetic', '12b', '--kernels', 'sse2']),
        /--kernels must be amx, avx512, avx2, portable/,
        2,
      );
      assert.throws(
        () => requestedKernels(undefined, { PIXTRAL_KERNELS: 'avx9' }),
        /PIXTRAL_KERNELS must be/,
      );
      assert.equal(requestedKernels(undefined, {}), undefined);
      assert.equal(requestedKernels('avx2', { PIXTRAL_KERNELS: 'portable' }), 'avx2');
      const features = loadNativeAddon()!.features();
      if (!features.amx)
        assertOneLineFailure(
          pixtral(['run', '--model', 'models/pixtral-demo', '--kernels', 'amx', 'Hi']),
          /this CPU cannot run the amx kernels/,
        );
      assert.deepEqual([...KERNEL_CHOICES], ['amx', 'avx512', 'avx2', 'portable']);
    });
  },
);
