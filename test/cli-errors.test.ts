/**
 * User mistakes at the command line end in one readable line and a non-zero exit (issue #13, defect 8):
 * option values that start with '-', empty or unreachable images, broken JSON model files, models that
 * cannot be quantized.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNativeAddon } from '../src/backend/native/addon.js';
import { parseCommandArgs } from '../src/cli/args.js';
import { UsageError } from '../src/cli/errors.js';
import { endProgressLine, progressBar } from '../src/cli/progress.js';
import { pixtral, pixtralAsync } from './helpers/cli.js';
import { assertOneLineFailure } from './helpers/cli-failure.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';
import { textConfig, writeTextModel } from './helpers/text-model.js';

const goldens = loadGoldens();
const consolidated = fixturePath(goldens.model.consolidated);
const scratch = scratchDir('pixtral-cli-errors-');

/** The fixture's consolidated model with some of its files replaced (the rest linked, not copied). */
function modelWith(name: string, files: Record<string, string>): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  for (const file of ['params.json', 'consolidated.safetensors', 'tekken.json'])
    if (files[file] === undefined) symlinkSync(join(consolidated, file), join(dir, file));
    else writeFileSync(join(dir, file), files[file]);
  return dir;
}

const OPTIONS = {
  text: { type: 'string' },
  stop: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;
const parse = (argv: string[]) => parseCommandArgs(argv, OPTIONS, { min: 0, max: 1, names: 'PROMPT' });

describe('option values', () => {
  it('may start with a dash, written apart or with =', () => {
    assert.equal(parse(['--text', '-5']).values.text, '-5');
    assert.equal(parse(['--text=-5']).values.text, '-5');
    assert.equal(parse(['--text', '-']).values.text, '-');
    assert.deepEqual(parse(['--stop', '-x', '--stop', '--', 'p']).values.stop, ['-x', '--']);
    assert.deepEqual(parse(['--json', '--', '-h']).positionals, ['-h']);
  });

  it('missing values, unknown options and values given to flags are one-line usage errors', () => {
    const cases: [string[], RegExp][] = [
      [['--text'], /^--text needs a value$/],
      [['--text', '--json'], /^--text needs a value$/],
      [['--bogus'], /^Unknown option '--bogus'$/],
      [['-5'], /^Unknown option '-5' \(put -- before an argument that starts with '-'\)$/],
      [['--json=1'], /^--json does not take a value$/],
      [['--toString', 'x'], /^Unknown option '--toString'$/],
    ];
    for (const [argv, message] of cases)
      assert.throws(
        () => parse(argv),
        (err: Error) => err instanceof UsageError && message.test(err.message),
        argv.join(' '),
      );
  });

  it('reach the command: tokenize takes "-5", run range-checks a negative temperature', () => {
    const apart = pixtral(['tokenize', '--text', '-5']);
    assert.equal(apart.status, 0, apart.stderr);
    assert.equal(apart.stdout, pixtral(['tokenize', '--text=-5']).stdout);
    assertOneLineFailure(
      pixtral(['run', '--model', 'builtin:tiny', '--temperature', '-1', 'hi']),
      /--temperature must be a number from 0 to 2, got "-1"/,
      2,
    );
    // After '--', "-h" is an argument, not a request for help.
    assertOneLineFailure(pixtral(['tokenize', '--', '-h']), /unexpected argument "-h"/, 2);
  });
});

describe('broken JSON model files', () => {
  it('tekken.json: one line with the file, line and column', () => {
    // Hand-edited, pretty-printed: V8's own message would quote the broken text across line breaks.
    const tekken = '{\n  "config": {\n    "pattern": "x",\n    "version": v7\n  }\n}\n';
    const dir = modelWith('bad-tekken', { 'tekken.json': tekken });
    assertOneLineFailure(
      pixtral(['tokenize', '--model', dir, '--text', 'hi']),
      /tekken\.json: is not valid JSON \(line 4, column 16: unexpected 'v'\)$/,
    );
  });

  it('params.json: one line with the file, line and column', () => {
    const params = readFileSync(join(consolidated, 'params.json'), 'utf8').replace(/,(\s*"n_layers")/, '$1');
    const dir = modelWith('bad-params', { 'params.json': params });
    assertOneLineFailure(
      pixtral(['inspect', dir]),
      /params\.json: is not valid JSON \(line \d+, column \d+: expected ',' or '}' after a property value\)$/,
    );
  });
});

describe('images given to run', () => {
  const run = (image: string) => [
    'run',
    '--model',
    'builtin:tiny',
    '--image',
    image,
    '--max-tokens',
    '1',
    'hi',
  ];
  let server: Server;
  let base: string;
  let closedPort: number;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/empty.png') return res.end();
      res.statusCode = 404;
      res.end('no such image');
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // A port that was just free: nothing listens there, so connecting is refused.
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((done) => probe.close(done));
  });
  after(() => server.close());

  it('an empty file is named as empty, not as an empty data: URI', () => {
    const file = join(scratch, 'photo.png');
    writeFileSync(file, '');
    assertOneLineFailure(pixtral(run(file)), /photo\.png: the file is empty$/);
  });

  it('an unreachable URL names the URL and the reason', async () => {
    const cases: [string, RegExp][] = [
      [`http://127.0.0.1:${closedPort}/x.png`, /connection refused$/],
      [`https://127.0.0.1:${closedPort}/x.png`, /connection refused$/],
      ['http://127.0.0.1:9/x.png', /fetch refuses to connect to this port/],
      ['https://no-such-host.invalid/x.png', /host not found|DNS lookup failed/],
      ['http://', /not a valid URL$/],
      [`${base}/missing.png`, /HTTP 404 Not Found$/],
      [`${base}/empty.png`, /the response is empty$/],
    ];
    for (const [url, reason] of cases) {
      const escaped = url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assertOneLineFailure(
        await pixtralAsync(run(url)),
        new RegExp(`cannot fetch image ${escaped}: ${reason.source}`),
      );
    }
  });
});

describe('pixtral quantize', { skip: !loadNativeAddon() && 'the native addon is not built' }, () => {
  it('says how much it quantized and which weights it could not', () => {
    const result = pixtral(['quantize', consolidated, '--to', 'q8', join(scratch, 'q8')]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^\d+ of \d+ tensors stored as q8: /m);
    // The fixture's dim is 20: wq, wk, wv, w1, w3 and output cannot be cut into 32-value blocks.
    assert.match(
      result.stderr,
      /note: \d+ matmul weights kept in full precision because the input width is not a multiple of 32: layers\.0\.attention\.wq\.weight \(width 20\)/,
    );
  });

  it('fails in one line when nothing can be quantized', () => {
    const text = textConfig({ dim: 20, headDim: 10, nHeads: 2, nKvHeads: 1, hiddenDim: 40 });
    const model = writeTextModel(join(scratch, 'unaligned'), text, join(consolidated, 'tekken.json'));
    assertOneLineFailure(
      pixtral(['quantize', model, '--to', 'q4', join(scratch, 'unaligned-q4')]),
      /nothing to quantize to q4: no matmul weight has an input width that is a multiple of 32 \(layers\.0\.attention\.wq\.weight \(width 20\), .* and \d+ more\)$/,
    );
  });

  it('refuses a folder that is already quantized', () => {
    assertOneLineFailure(
      pixtral(['quantize', join(scratch, 'q8'), '--to', 'q4', join(scratch, 'again')]),
      /q8 is already quantized; quantize the original model folder$/,
      2,
    );
  });
});

describe('other commands', () => {
  it('parity names a folder that is not a fixture set without calling it an internal error', () => {
    assertOneLineFailure(pixtral(['parity', scratch]), /no goldens\.json here — not a fixture set$/);
  });

  it('an error after a half-drawn progress bar starts on a line of its own', () => {
    const stderr = process.stderr;
    const { isTTY, write } = stderr;
    const writes: string[] = [];
    stderr.isTTY = true;
    stderr.write = ((text: string) => writes.push(text) > 0) as typeof stderr.write;
    try {
      progressBar('loading model', { out() {}, err() {} }).update(1, 3);
      endProgressLine(); // what main() does before it prints an error
      endProgressLine(); // and only once
    } finally {
      stderr.isTTY = isTTY;
      stderr.write = write;
    }
    assert.equal(writes.length, 2, JSON.stringify(writes));
    assert.match(writes[0]!, /^\rloading model \[#+ +\] 33%/);
    assert.equal(writes[1], '\n');
  });
});
