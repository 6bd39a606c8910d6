/**
 * Normalisation and rendering rules (spec §8.5–§8.6), checked on a readable transcript: a fake tokenizer
 * maps each encoded text piece to one id, which the transcript shows as `"text"`, and control ids by name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  imageUrlsInPromptOrder,
  normalizeChat,
  renderPrompt,
  validateChatRequest,
  type ChatTokenizer,
  type ImageGrid,
} from '../src/chat/index.js';
import { bundledTokenizer } from '../src/tokenizer/index.js';

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
  10: '[IMG]',
  12: '[IMG_BREAK]',
  13: '[IMG_END]',
};

/** Renders `body` and returns the transcript: control tokens by name, each encoded text piece quoted. */
function transcript(body: unknown, grids?: ImageGrid[]): string[] {
  const pieces: string[] = [];
  const fake: ChatTokenizer = {
    encode: (s: string) => (s === '' ? [] : [1000 + pieces.push(s) - 1]),
  };
  const conv = normalizeChat(validateChatRequest(body));
  const g = grids ?? imageUrlsInPromptOrder(conv).map(() => ({ rows: 1, cols: 1 }));
  return renderPrompt(conv, fake, g).ids.map((id) =>
    id >= 1000 ? JSON.stringify(pieces[id - 1000]) : NAMES[id]!,
  );
}

const img = (url: string) => ({ type: 'image_url', image_url: url });
const text = (t: string) => ({ type: 'text', text: t });
const IMG1 = ['[IMG]', '[IMG_END]'];

describe('normalisation', () => {
  it('system prompts are joined and attached to the last user message only', () => {
    const t = transcript({
      messages: [
        { role: 'system', content: 'S1' },
        { role: 'user', content: 'u1' },
        { role: 'assistant', content: 'a1' },
        { role: 'system', content: [text('S2'), text('S3')] },
        { role: 'system', content: '' },
        { role: 'user', content: 'u2' },
      ],
    });
    assert.deepEqual(t, [
      '<s>',
      '[INST]',
      '"u1"',
      '[/INST]',
      '"a1"',
      '</s>',
      '[INST]',
      '"S1\\n\\nS2\\n\\nS3\\n\\nu2"',
      '[/INST]',
    ]);
  });

  it('consecutive user messages merge; empty texts are skipped; images stay in place', () => {
    const t = transcript({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'user', content: '' },
        { role: 'user', content: [text(''), text('b'), img('x'), text('c')] },
        { role: 'user', content: 'd' },
      ],
    });
    assert.deepEqual(t, ['<s>', '[INST]', '"a\\n\\nb"', ...IMG1, '"c\\n\\nd"', '[/INST]']);
  });

  it('a system message between two user messages breaks the run', () => {
    const t = transcript({
      messages: [
        { role: 'user', content: 'a' },
        { role: 'system', content: 'S' },
        { role: 'user', content: 'b' },
      ],
    });
    assert.deepEqual(t, ['<s>', '[INST]', '"a"', '[/INST]', '[INST]', '"S\\n\\nb"', '[/INST]']);
  });

  it('an empty user message is put in front when the conversation does not start with one', () => {
    const t = transcript({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'assistant', content: 'hello' },
        { role: 'user', content: 'q' },
      ],
    });
    assert.deepEqual(t, ['<s>', '[INST]', '[/INST]', '"hello"', '</s>', '[INST]', '"S\\n\\nq"', '[/INST]']);
    assert.deepEqual(transcript({ messages: [{ role: 'system', content: 'S' }] }), [
      '<s>',
      '[INST]',
      '"S\\n\\n"',
      '[/INST]',
    ]);
  });

  it('assistant messages merge: texts joined, right-stripped of spaces only, prefix kept without </s>', () => {
    const t = transcript({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'one \n' },
        { role: 'assistant', content: [text('two  ')], prefix: true },
      ],
    });
    assert.deepEqual(t, ['<s>', '[INST]', '"q"', '[/INST]', '"one \\n\\n\\ntwo"']);
    const c = transcript({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'go on  ' },
      ],
      continue_final_message: true,
    });
    assert.deepEqual(c, ['<s>', '[INST]', '"q"', '[/INST]', '"go on"']);
  });
});

describe('image placement', () => {
  const urls = (content: unknown[]) =>
    imageUrlsInPromptOrder(normalizeChat(validateChatRequest({ messages: [{ role: 'user', content }] })));

  it('[text, image] → image first; also when the pair comes from merged messages', () => {
    assert.deepEqual(transcript({ messages: [{ role: 'user', content: [text('q'), img('x')] }] }), [
      '<s>',
      '[INST]',
      ...IMG1,
      '"q"',
      '[/INST]',
    ]);
    const merged = transcript({
      messages: [
        { role: 'user', content: 'look' },
        { role: 'user', content: [img('x')] },
      ],
    });
    assert.deepEqual(merged, ['<s>', '[INST]', ...IMG1, '"look"', '[/INST]']);
  });

  it('other orders are kept; system prompt goes before the first chunk', () => {
    const t = transcript({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: [text('a'), img('x'), text('b'), img('y')] },
      ],
    });
    assert.deepEqual(t, ['<s>', '[INST]', '"S\\n\\n"', '"a"', ...IMG1, '"b"', ...IMG1, '[/INST]']);
    assert.deepEqual(urls([img('x'), img('y')]), ['x', 'y']);
    assert.deepEqual(urls([text('a'), img('x'), text('b')]), ['x']);
  });

  it('grids are consumed in prompt order, across messages; [IMG_BREAK] between rows, [IMG_END] last', () => {
    const body = {
      messages: [
        { role: 'user', content: [img('first'), text('a')] },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [text('b'), img('second')] },
      ],
    };
    assert.deepEqual(imageUrlsInPromptOrder(normalizeChat(validateChatRequest(body))), ['first', 'second']);
    const t = transcript(body, [
      { rows: 2, cols: 1 },
      { rows: 1, cols: 2 },
    ]);
    assert.deepEqual(t, [
      '<s>',
      '[INST]',
      '[IMG]',
      '[IMG_BREAK]',
      '[IMG]',
      '[IMG_END]',
      '"a"',
      '[/INST]',
      '"ok"',
      '</s>',
      '[INST]',
      '[IMG]',
      '[IMG]',
      '[IMG_END]',
      '"b"',
      '[/INST]',
    ]);
  });

  it('the number of grids must match the number of images', () => {
    const conv = normalizeChat(validateChatRequest({ messages: [{ role: 'user', content: [img('x')] }] }));
    const tok = bundledTokenizer();
    assert.throws(() => renderPrompt(conv, tok, []), RangeError);
    assert.throws(
      () =>
        renderPrompt(conv, tok, [
          { rows: 1, cols: 1 },
          { rows: 1, cols: 1 },
        ]),
      RangeError,
    );
    assert.throws(() => renderPrompt(conv, tok, [{ rows: 0, cols: 1 }]), RangeError);
  });
});
