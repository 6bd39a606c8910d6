/**
 * Tool rendering (spec §8.6, v3): tools block, tool calls, tool results, Python-style JSON. Checked on a
 * readable transcript: a fake tokenizer maps each encoded text piece to one id, shown as `"text"`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeChat, renderPrompt, validateChatRequest, type ChatTokenizer } from '../src/chat/index.js';

const NAMES: Record<number, string> = {
  1: '<s>',
  2: '</s>',
  3: '[INST]',
  4: '[/INST]',
  5: '[AVAILABLE_TOOLS]',
  6: '[/AVAILABLE_TOOLS]',
  7: '[TOOL_RESULTS]',
  8: '[/TOOL_RESULTS]',
  9: '[TOOL_CALLS]',
};

/** Renders `body` (no images) as control-token names and quoted text pieces. */
function transcript(body: unknown): string[] {
  const pieces: string[] = [];
  const fake: ChatTokenizer = { encode: (s: string) => (s === '' ? [] : [1000 + pieces.push(s) - 1]) };
  const ids = renderPrompt(normalizeChat(validateChatRequest(body)), fake).ids;
  return ids.map((id) => (id >= 1000 ? JSON.stringify(pieces[id - 1000]) : NAMES[id]!));
}

describe('tools (v3)', () => {
  const tools = [
    {
      type: 'function',
      function: { name: 'f', parameters: { type: 'object', properties: {} }, strict: true },
    },
  ];

  it('tools before the last user [INST]; all calls and results stay; "null" ids are left out', () => {
    const t = transcript({
      tools,
      messages: [
        { role: 'user', content: 'q1' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'null', function: { name: 'f', arguments: { x: 1.5, n: 'é' } } }],
        },
        { role: 'tool', tool_call_id: 'abcDEF123', content: 'not json' },
        { role: 'assistant', content: 'done' },
        { role: 'user', content: 'q2' },
        { role: 'assistant', tool_calls: [{ id: 'abcDEF123', function: { name: 'f', arguments: '' } }] },
        { role: 'tool', tool_call_id: 'abcDEF123', content: '' },
      ],
    });
    assert.deepEqual(t, [
      '<s>',
      '[INST]',
      '"q1"',
      '[/INST]',
      '[TOOL_CALLS]',
      JSON.stringify('[{"name": "f", "arguments": {"x": 1.5, "n": "é"}}]'),
      '</s>',
      '[TOOL_RESULTS]',
      JSON.stringify('{"content": "not json", "call_id": "abcDEF123"}'),
      '[/TOOL_RESULTS]',
      '"done"',
      '</s>',
      '[AVAILABLE_TOOLS]',
      JSON.stringify(
        '[{"type": "function", "function": {"name": "f", "description": "", "parameters": {"type": "object", "properties": {}}}}]',
      ),
      '[/AVAILABLE_TOOLS]',
      '[INST]',
      '"q2"',
      '[/INST]',
      '[TOOL_CALLS]',
      JSON.stringify('[{"name": "f", "arguments": {}, "id": "abcDEF123"}]'),
      '</s>',
      '[TOOL_RESULTS]',
      JSON.stringify('{"content": {}, "call_id": "abcDEF123"}'),
      '[/TOOL_RESULTS]',
    ]);
  });

  it('JSON tool content and arguments are re-serialised Python-style', () => {
    const t = transcript({
      messages: [
        { role: 'user', content: 'q' },
        {
          role: 'assistant',
          tool_calls: [{ id: 'abcDEF123', function: { name: 'f', arguments: '{"a":1.0,"b":1e5}' } }],
        },
        { role: 'tool', tool_call_id: 'abcDEF123', content: '[1,2.50,"x"]' },
      ],
    });
    assert.equal(
      t[5],
      JSON.stringify('[{"name": "f", "arguments": {"a": 1.0, "b": 100000.0}, "id": "abcDEF123"}]'),
    );
    assert.equal(t[8], JSON.stringify('{"content": [1, 2.5, "x"], "call_id": "abcDEF123"}'));
  });

  it('no tools block without tools or with an empty list', () => {
    assert.deepEqual(transcript({ tools: [], messages: [{ role: 'user', content: 'q' }] }), [
      '<s>',
      '[INST]',
      '"q"',
      '[/INST]',
    ]);
  });
});
