import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argmax, Sampler } from '../src/generate/sampler.js';
import { StopStringMatcher } from '../src/generate/stop-strings.js';
import { parseToolCalls } from '../src/generate/tool-calls.js';

describe('sampler', () => {
  const logits = () => new Float32Array([1, 3, 2, 0.5, 2.9]);

  it('is greedy at temperature 0 and respects blocked ids', () => {
    assert.equal(new Sampler({ temperature: 0, topP: 1 }).sample(logits()), 1);
    assert.equal(new Sampler({ temperature: 0, topP: 1 }, new Set([1])).sample(logits()), 4);
    assert.equal(argmax(new Float32Array([2, 5, 5])), 1);
  });

  it('reproduces a draw sequence from the same seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const s = new Sampler({ temperature: 1.5, topP: 1, seed });
      return Array.from({ length: 40 }, () => s.sample(logits()));
    };
    assert.deepEqual(draw(7), draw(7));
    assert.notDeepEqual(draw(7), draw(8));
  });

  it('top_p keeps only the smallest set reaching the mass', () => {
    // softmax of [10, 9, 0, …] puts ~73% on id 0 and ~27% on id 1: top_p 0.5 must always pick id 0.
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 1 });
    for (let i = 0; i < 50; i++) assert.equal(s.sample(new Float32Array([10, 9, 0, 0])), 0);
    const wide = new Sampler({ temperature: 1, topP: 0.99, seed: 1 });
    const seen = new Set(Array.from({ length: 200 }, () => wide.sample(new Float32Array([10, 9, 0, 0]))));
    assert.deepEqual([...seen].sort(), [0, 1]);
  });

  it('draws in proportion to the probabilities', () => {
    const s = new Sampler({ temperature: 1, topP: 1, seed: 3 });
    let ones = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (s.sample(new Float32Array([0, Math.log(3)])) === 1) ones++;
    assert.ok(Math.abs(ones / n - 0.75) < 0.03, `drew id 1 ${ones / n} of the time, expected 0.75`);
  });

  it('applies presence and frequency penalties to tokens already generated', () => {
    const s = new Sampler({ temperature: 0, topP: 1, presencePenalty: 0.5, frequencyPenalty: 1 });
    assert.equal(s.sample(new Float32Array([2, 1.8])), 0);
    assert.equal(s.sample(new Float32Array([2, 1.8])), 1); // 2 - 0.5 - 1 < 1.8
  });

  it('honours a forced token', () => {
    assert.equal(new Sampler({ temperature: 0, topP: 1 }).sample(logits(), 3), 3);
  });
});

describe('stop strings', () => {
  it('holds back a possible prefix and cuts before the match', () => {
    const m = new StopStringMatcher(['END']);
    assert.deepEqual(m.push('hello E'), { emit: 'hello ', stopped: false });
    assert.deepEqual(m.push('N'), { emit: '', stopped: false });
    assert.deepEqual(m.push('D and more'), { emit: '', stopped: true });
  });

  it('releases held text that turns out not to be a stop', () => {
    const m = new StopStringMatcher(['END']);
    assert.deepEqual(m.push('EN'), { emit: '', stopped: false });
    assert.deepEqual(m.push('X'), { emit: 'ENX', stopped: false });
    m.push('E');
    assert.equal(m.flush(), 'E');
  });

  it('picks the earliest of several stops', () => {
    const m = new StopStringMatcher(['bb', 'a']);
    assert.deepEqual(m.push('xxbbya'), { emit: 'xx', stopped: true });
  });
});

describe('tool calls', () => {
  it('parses a call list and keeps valid ids', () => {
    const calls = parseToolCalls(
      '[{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "D681PevKs"}]',
    );
    assert.deepEqual(calls, [
      {
        id: 'D681PevKs',
        type: 'function',
        function: { name: 'get_weather', arguments: '{"location":"Paris"}' },
      },
    ]);
  });

  it('assigns 9-character ids when absent or invalid', () => {
    const calls = parseToolCalls(
      '[{"name": "a", "arguments": {}}, {"name": "b", "arguments": "{}", "id": "null"}]',
    )!;
    for (const call of calls) assert.match(call.id, /^[a-zA-Z0-9]{9}$/);
    assert.equal(calls[1]!.function.arguments, '{}');
  });

  it('returns null for text that is not a call list', () => {
    assert.equal(parseToolCalls('not json'), null);
    assert.equal(parseToolCalls('[{"arguments": {}}]'), null);
    assert.equal(parseToolCalls('[]'), null);
  });
});
