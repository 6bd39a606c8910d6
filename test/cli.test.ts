import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pixtral } from './helpers/cli.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';
import { scratchDir } from './helpers/scratch.js';

const goldens = loadGoldens();
const scratch = scratchDir('pixtral-cli-');
const consolidated = fixturePath(goldens.model.consolidated);
const hf = fixturePath(goldens.model.hf);

/** A failing command prints one readable line (no stack trace) and exits non-zero. */
function assertCleanFailure(result: ReturnType<typeof pixtral>, pattern: RegExp, status = 1): void {
  assert.equal(result.status, status, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('pixtral inspect', () => {
  it('describes both layouts with the same parameter count', () => {
    const a = JSON.parse(pixtral(['inspect', consolidated, '--json']).stdout);
    const b = JSON.parse(pixtral(['inspect', hf, '--json']).stdout);
    assert.equal(a.layout, 'consolidated');
    assert.equal(b.layout, 'hf');
    assert.equal(a.parameters, b.parameters);
    assert.deepEqual(a.dtypes, ['BF16']);
    const text = pixtral(['inspect', consolidated]);
    assert.equal(text.status, 0);
    assert.match(text.stdout, /layout\s+Mistral consolidated/);
    assert.match(text.stdout, /parameters\s+[\d.]+ M/);
  });

  it('fails cleanly on a missing folder and on bad arguments', () => {
    assertCleanFailure(pixtral(['inspect', join(scratch, 'nope')]), /nope: model directory does not exist/);
    assertCleanFailure(pixtral(['inspect']), /missing MODEL_DIR/, 2);
    assertCleanFailure(pixtral(['inspect', consolidated, '--bogus']), /Unknown option '--bogus'/, 2);
    assertCleanFailure(pixtral(['frobnicate']), /unknown command "frobnicate"/, 2);
  });
});

describe('pixtral tokenize', () => {
  it('prints the ids of a text', () => {
    const c = goldens.tokenizer.cases[0];
    const result = pixtral(['tokenize', '--model', consolidated, '--text', c.text]);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), c.ids);
    assert.deepEqual(JSON.parse(pixtral(['tokenize', '--text', c.text]).stdout), c.ids, 'bundled vocabulary');
  });

  it('renders a chat-completion request like the golden', () => {
    for (const c of goldens.chat.slice(0, 4)) {
      const result = pixtral(['tokenize', '--model', hf, '--request', fixturePath(c.request)]);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), c.ids, c.name);
    }
  });

  it('reports invalid requests with the field that is wrong', () => {
    const file = join(scratch, 'bad.json');
    writeFileSync(file, JSON.stringify({ messages: [{ role: 'wizard', content: 'hi' }] }));
    assertCleanFailure(pixtral(['tokenize', '--request', file]), /messages.*0.*role/);
    writeFileSync(file, '{oops');
    assertCleanFailure(pixtral(['tokenize', '--request', file]), /not valid JSON/, 2);
    assertCleanFailure(pixtral(['tokenize', '--text', 'a', '--request', file]), /exactly one of/, 2);
  });
});

describe('pixtral run', () => {
  const image = fixturePath(goldens.images[0].image);

  it('answers with an image from either layout (greedy answers agree)', () => {
    const answers = [consolidated, hf].map((model) => {
      const result = pixtral([
        'run',
        '--model',
        model,
        '--image',
        image,
        '--temperature',
        '0',
        '--max-tokens',
        '6',
        '--json',
        'What is this?',
      ]);
      assert.equal(result.status, 0, result.stderr);
      const response = JSON.parse(result.stdout);
      assert.equal(response.usage.completion_tokens, 6);
      assert.ok(
        response.usage.prompt_tokens > goldens.images[0].tokens,
        'image tokens count as prompt tokens',
      );
      assert.equal(response.finish_reason, 'length');
      return response.content;
    });
    assert.equal(answers[0], answers[1]);
  });

  it('streams plain text with the embedded demo model', () => {
    const result = pixtral([
      'run',
      '--model',
      'builtin:tiny',
      '--image',
      'examples/shapes.png',
      '--max-tokens',
      '5',
      '--seed',
      '3',
      'Hi',
    ]);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(result.stdout.length > 0);
  });

  it('fails cleanly on a missing model, an unreadable image and a prompt longer than the context', () => {
    assertCleanFailure(
      pixtral(['run', '--model', join(scratch, 'none'), 'hi']),
      /model directory does not exist/,
    );
    assertCleanFailure(
      pixtral(['run', '--model', consolidated, '--image', join(scratch, 'no.png'), 'hi']),
      /cannot read image .*no\.png.*ENOENT/,
      2,
    );
    const notImage = join(scratch, 'not-image.png');
    writeFileSync(notImage, 'this is not an image');
    assertCleanFailure(pixtral(['run', '--model', consolidated, '--image', notImage, 'hi']), /image/i);
    assertCleanFailure(
      pixtral(['run', '--model', consolidated, '--context', '16', 'a '.repeat(40)]),
      /prompt has \d+ tokens but the model's context is 16 tokens/,
    );
  });
});

describe('pixtral parity', () => {
  it('passes every golden of the shared fixture set', () => {
    const result = pixtral(['parity', fixturePath()], 600_000);
    const summary = result.stdout.trim().split('\n').at(-1)!;
    assert.match(
      summary,
      /^\d+ passed, 0 failed$/,
      result.stdout
        .split('\n')
        .filter((l) => l.startsWith('FAIL'))
        .join('\n'),
    );
    assert.equal(result.status, 0);
    for (const kind of [
      'tokenizer/',
      'chat/',
      'image/',
      'model/consolidated/vision',
      'model/hf/logits',
      'model/hf/generate',
    ])
      assert.ok(result.stdout.includes(`PASS ${kind}`), `ran ${kind} checks`);
  });

  it('fails cleanly on a folder that is not a fixture set', () => {
    assertCleanFailure(pixtral(['parity', scratch]), /no goldens\.json here/);
  });
});
