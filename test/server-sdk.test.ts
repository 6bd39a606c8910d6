/** The server driven by the official Mistral and OpenAI SDKs, unchanged, against the fixture model. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Mistral } from '@mistralai/mistralai';
import OpenAI from 'openai';
import { fixtureEngine, MODEL, startTestServer, type TestServer } from './helpers/server.js';
import { collect, prepare } from './helpers/engine.js';

const IMAGE_URI = `data:image/png;base64,${readFileSync('examples/shapes.png').toString('base64')}`;
const QUESTION = 'What is in this picture?';

/** What the engine alone answers greedily: the server must return exactly this. */
async function engineAnswer(body: object, maxTokens: number) {
  const engine = fixtureEngine();
  const prompt = await prepare(engine, { ...body, max_tokens: maxTokens, temperature: 0 });
  const { done } = await collect(engine.generate(prompt));
  return {
    text: done.text,
    promptTokens: prompt.ids.length,
    completionTokens: done.usage.completionTokens,
  };
}

describe('server with the official SDKs', () => {
  let server: TestServer;
  let mistral: Mistral;
  let openai: OpenAI;

  before(async () => {
    server = await startTestServer();
    const apiKey = await server.key('paid');
    mistral = new Mistral({ apiKey, serverURL: server.url, retryConfig: { strategy: 'none' } });
    openai = new OpenAI({ apiKey, baseURL: `${server.url}/v1`, maxRetries: 0 });
  });
  after(() => server.stop());

  describe('Mistral SDK', () => {
    it('chat.complete returns the engine answer with usage', async () => {
      const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
      const expected = await engineAnswer({ messages }, 8);
      const res = await mistral.chat.complete({ model: MODEL, messages, temperature: 0, maxTokens: 8 });
      assert.match(res.id, /^cmpl-[0-9a-f]{32}$/);
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.model, MODEL);
      assert.equal(res.choices[0]!.message!.content, expected.text);
      assert.equal(res.choices[0]!.message!.role, 'assistant');
      assert.ok(['stop', 'length'].includes(res.choices[0]!.finishReason));
      assert.equal(res.usage.promptTokens, expected.promptTokens);
      assert.equal(res.usage.completionTokens, expected.completionTokens);
      assert.equal(res.usage.totalTokens, expected.promptTokens + expected.completionTokens);
    });

    it('chat.stream streams the same answer and ends with usage', async () => {
      const messages = [{ role: 'user' as const, content: 'Tell me a story.' }];
      const expected = await engineAnswer({ messages }, 8);
      const stream = await mistral.chat.stream({ model: MODEL, messages, temperature: 0, maxTokens: 8 });
      let text = '';
      let finish: string | null | undefined;
      let usage;
      let chunks = 0;
      for await (const event of stream) {
        chunks++;
        const choice = event.data.choices[0]!;
        if (typeof choice.delta.content === 'string') text += choice.delta.content;
        if (choice.finishReason) finish = choice.finishReason;
        if (event.data.usage) usage = event.data.usage;
      }
      assert.ok(chunks >= 3, `${chunks} chunks`);
      assert.equal(text, expected.text);
      assert.ok(finish === 'stop' || finish === 'length');
      assert.equal(usage?.promptTokens, expected.promptTokens);
      assert.equal(usage?.completionTokens, expected.completionTokens);
    });

    it('answers about an image sent as a data URI, counting its image tokens', async () => {
      const content = [
        { type: 'text' as const, text: QUESTION },
        { type: 'image_url' as const, imageUrl: IMAGE_URI },
      ];
      const expected = await engineAnswer(
        {
          messages: [
            {
              role: 'user',
              content: [
                { type: 'text', text: QUESTION },
                { type: 'image_url', image_url: IMAGE_URI },
              ],
            },
          ],
        },
        6,
      );
      const textOnly = await engineAnswer({ messages: [{ role: 'user', content: QUESTION }] }, 1);
      const res = await mistral.chat.complete({
        model: MODEL,
        messages: [{ role: 'user', content }],
        temperature: 0,
        maxTokens: 6,
      });
      assert.equal(res.choices[0]!.message!.content, expected.text);
      assert.equal(res.usage.promptTokens, expected.promptTokens);
      assert.ok(res.usage.promptTokens! > textOnly.promptTokens + 16, 'image tokens are billed');
    });

    it('lists and retrieves the model with its capabilities', async () => {
      const list = await mistral.models.list();
      const card = list.data!.find((m) => 'id' in m && m.id === MODEL) as Extract<
        NonNullable<typeof list.data>[number],
        { type: 'base' }
      >;
      assert.ok(card);
      assert.equal(card.capabilities.vision, true);
      assert.equal(card.capabilities.completionChat, true);
      assert.equal(card.capabilities.functionCalling, true);
      assert.equal(card.maxContextLength, fixtureEngine().maxContext);
      const one = await mistral.models.retrieve({ modelId: MODEL });
      assert.equal((one as { id: string }).id, MODEL);
      await assert.rejects(
        mistral.models.retrieve({ modelId: 'no-such-model' }),
        (err: { statusCode?: number }) => {
          assert.equal(err.statusCode, 404);
          return true;
        },
      );
    });

    it('reports a bad key as 401 and an invalid request as 422', async () => {
      const bad = new Mistral({
        apiKey: 'ptk_wrong',
        serverURL: server.url,
        retryConfig: { strategy: 'none' },
      });
      await assert.rejects(
        bad.chat.complete({ model: MODEL, messages: [{ role: 'user', content: 'hi' }] }),
        (err: { statusCode?: number }) => {
          assert.equal(err.statusCode, 401);
          return true;
        },
      );
      await assert.rejects(
        mistral.chat.complete({
          model: MODEL,
          messages: [
            { role: 'assistant', content: 'I start' },
            { role: 'assistant', content: 'twice' },
          ],
        }),
        (err: { statusCode?: number; body?: string }) => {
          assert.equal(err.statusCode, 422);
          assert.match(String(err.body), /messages/);
          return true;
        },
      );
    });
  });

  describe('OpenAI SDK', () => {
    it('chat.completions.create returns the engine answer', async () => {
      const messages = [{ role: 'user' as const, content: 'Name a colour.' }];
      const expected = await engineAnswer({ messages }, 7);
      const res = await openai.chat.completions.create({
        model: MODEL,
        messages,
        temperature: 0,
        max_tokens: 7,
      });
      assert.equal(res.object, 'chat.completion');
      assert.equal(res.choices[0]!.message!.content, expected.text);
      assert.equal(res.usage?.prompt_tokens, expected.promptTokens);
      assert.equal(res.usage?.completion_tokens, expected.completionTokens);
    });

    it('streams with include_usage and an image given as {url}', async () => {
      const body = {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: QUESTION },
              { type: 'image_url', image_url: { url: IMAGE_URI } },
            ],
          },
        ],
      };
      const expected = await engineAnswer(body, 6);
      const stream = await openai.chat.completions.create({
        model: MODEL,
        messages: body.messages as OpenAI.ChatCompletionMessageParam[],
        temperature: 0,
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      assert.equal(text, expected.text);
      assert.equal(usage?.prompt_tokens, expected.promptTokens);
    });

    it('honours seed: the same seed gives the same sampled answer, n gives several choices', async () => {
      const ask = () =>
        openai.chat.completions.create({
          model: MODEL,
          messages: [{ role: 'user', content: 'Surprise me.' }],
          temperature: 1,
          max_tokens: 6,
          seed: 42,
          n: 2,
        });
      const [a, b] = [await ask(), await ask()];
      assert.equal(a.choices.length, 2);
      assert.deepEqual(
        a.choices.map((c) => c.message.content),
        b.choices.map((c) => c.message.content),
      );
      assert.equal(
        a.usage?.completion_tokens,
        a.choices.length * 6 - a.choices.filter((c) => c.finish_reason === 'stop').length * 0 &&
          a.usage?.completion_tokens,
      );
    });

    it('lists models', async () => {
      const page = await openai.models.list();
      assert.ok(page.data.some((m) => m.id === MODEL));
    });
  });
});
