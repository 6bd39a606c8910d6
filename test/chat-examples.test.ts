/** The spec's worked examples (§8.8) render to their ids with the real (bundled) vocabulary. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeChat, validateChatRequest, type ImageGrid } from '../src/chat/index.js';
import { bundledTokenizer } from '../src/tokenizer/index.js';

const IMG = 'data:image/png;base64,AAAA'; // never decoded: grids are passed explicitly

describe('spec §8.8 worked examples (bundled vocabulary)', () => {
  const tok = bundledTokenizer();
  const encode = (body: unknown, grids: ImageGrid[] = []): number[] =>
    encodeChat(validateChatRequest(body), tok, grids).ids;

  it('example 1: [text, image] is rendered image first', () => {
    const ids = encode(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this image?' },
              { type: 'image_url', image_url: IMG },
            ],
          },
        ],
      },
      [{ rows: 3, cols: 2 }] /* 32×48 px */,
    );
    assert.deepEqual(ids, [1, 3, 10, 10, 12, 10, 10, 12, 10, 10, 13, 7493, 1395, 1294, 1593, 3937, 1063, 4]);
  });

  it('example 2: system prompt on the last user turn, as its own piece before the image', () => {
    const ids = encode(
      {
        messages: [
          { role: 'system', content: 'You are a helpful assistant.' },
          { role: 'user', content: 'Hello' },
          { role: 'assistant', content: 'Hi! How can I help?' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe the image.' },
              { type: 'image_url', image_url: { url: IMG } },
            ],
          },
        ],
      },
      [{ rows: 1, cols: 1 }],
    );
    assert.deepEqual(
      ids,
      [
        [1, 3, 22177, 4, 37133, 1033, 3075, 1710, 1362, 3508, 1063, 2],
        [3, 4568, 1584, 1261, 20351, 27089, 1338, 10, 13, 5847, 13089, 1278, 3937, 1046, 4],
      ].flat(),
    );
  });

  it('example 3: tools, tool call and tool result', () => {
    const ids = encode({
      tools: [
        {
          type: 'function',
          function: {
            name: 'get_weather',
            description: 'Get the current weather',
            parameters: {
              type: 'object',
              properties: { location: { type: 'string' } },
              required: ['location'],
            },
          },
        },
      ],
      messages: [
        { role: 'user', content: "What's the weather in Paris?" },
        {
          role: 'assistant',
          tool_calls: [
            { id: 'D681PevKs', function: { name: 'get_weather', arguments: '{"location": "Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'D681PevKs', content: '{"temperature_c": 18}' },
      ],
    });
    const end = ids.indexOf(6);
    assert.deepEqual(ids.slice(0, 2), [1, 5]);
    assert.equal(end - 2, 57, 'the tools JSON is 57 ids');
    assert.deepEqual(ids.slice(2, 9), [1091, 19227, 4994, 2811, 1429, 5165, 1897]);
    assert.deepEqual(ids.slice(end - 3, end), [4964, 2821, 27028]);
    const rest = [
      [6, 3, 7493, 1681, 1278, 17253, 1294, 6993, 1063, 4],
      [
        9, 1091, 19227, 2391, 2811, 1429, 1689, 1095, 45629, 1897, 1429, 61906, 2811, 16753, 17611, 2811,
        1429,
      ],
      [42572, 50666, 1429, 1327, 2811, 1429, 1068, 1054, 1056, 1049, 1080, 9568, 1075, 1115, 1034, 27028, 2],
      [
        7, 19227, 5431, 2811, 16753, 113824, 3480, 2811, 1032, 1049, 1056, 4179, 1429, 19881, 3384, 2811,
        1429,
      ],
      [1068, 1054, 1056, 1049, 1080, 9568, 1075, 1115, 46005, 8],
    ].flat();
    assert.deepEqual(ids.slice(end), rest);
  });

  it('example 4: two images then text keep their order; second turn', () => {
    const ids = encode(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: IMG },
              { type: 'image_url', image_url: IMG },
              { type: 'text', text: 'Compare them.' },
            ],
          },
          { role: 'assistant', content: 'They differ.' },
          { role: 'user', content: 'Which is brighter?' },
        ],
      },
      [
        { rows: 2, cols: 2 },
        { rows: 2, cols: 3 },
      ],
    );
    assert.deepEqual(
      ids,
      [
        [1, 3, 10, 10, 12, 10, 10, 13, 10, 10, 10, 12, 10, 10, 10, 13, 49272, 2424, 1046, 4],
        [14875, 2349, 1046, 2, 3, 45184, 1395, 112329, 1063, 4],
      ].flat(),
    );
  });
});
