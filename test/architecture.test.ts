/**
 * The request pipeline's ownership rules, checked over the source tree (a lint that cannot drift from the code):
 * one decode loop, one reader of the raw body, decoding policy that does not know the model, and none of the
 * adapter layers the pipeline was simplified away from.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = sources('src').map((path) => ({
  path: relative('.', path).replaceAll('\\', '/'),
  text: readFileSync(path, 'utf8'),
}));

/** Files whose text matches `pattern`, with the matching lines. */
function matching(pattern: RegExp, exclude: (path: string) => boolean = () => false): string[] {
  return files
    .filter((f) => !exclude(f.path))
    .flatMap((f) =>
      f.text
        .split('\n')
        .map((line, i) => ({ line, i }))
        .filter(({ line }) => pattern.test(line))
        .map(({ line, i }) => `${f.path}:${i + 1}: ${line.trim()}`),
    );
}

describe('architecture', () => {
  it('only the scheduler (and the read-only probes) drive the model forward', () => {
    const calls = matching(/\.(prefill|prefillSteps|stepBatch|step)\(/, (p) => p.startsWith('src/model/'));
    const owners = new Set(calls.map((c) => c.split(':')[0]));
    assert.deepEqual(
      [...owners].sort(),
      ['src/engine/probes.ts', 'src/engine/scheduler.ts'],
      calls.join('\n'),
    );
    // The probes never sample: a generation with sampling, stops or grammars can only come from the scheduler.
    const probes = files.find((f) => f.path === 'src/engine/probes.ts')!.text;
    assert.doesNotMatch(probes, /Sampler|Sequence|StopString|JsonConstraint/);
  });

  it('only the request validator reads the raw request body', () => {
    const reads = matching(/request\.body\b/);
    assert.equal(reads.length, 1, reads.join('\n'));
    assert.match(
      reads[0]!,
      /^src\/server\/routes\/chat-completions\.ts:\d+: const completion = validateCompletionRequest\(request\.body/,
    );
  });

  it('decoding policy (src/generate) does not import the model', () => {
    const imports = matching(/from '(\.\.\/)+model\//, (p) => !p.startsWith('src/generate/'));
    assert.deepEqual(imports, []);
  });

  it('the context budget is computed in one place', () => {
    const uses = matching(/answerBudget\(/, (p) => p === 'src/generate/sequence.ts');
    assert.deepEqual(
      uses.map((u) => u.split(':')[0]),
      ['src/engine/prepare.ts'],
      uses.join('\n'),
    );
  });

  it('the adapter layers of the old pipeline are gone', () => {
    const gone =
      /\b(class|interface)\s+(ChatBackend|GenerationQueue|QueuedChatBackend|LocalChatBackend|WorkerChatBackend|PromptPreparer)\b/;
    assert.deepEqual(matching(gone), []);
  });
});
