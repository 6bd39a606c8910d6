/**
 * The public API as an application sees it: everything is imported from the package name ('pixtral-ts',
 * resolved through package.json `exports`), never from src/. The demo model is the default model.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AbortError,
  type ChatEvent,
  connect,
  ContextLengthError,
  createServer,
  InvalidRequestError,
  loadModel,
  type Model,
  ModelNotFoundError,
  OutputParseError,
  PixtralError,
} from 'pixtral-ts';
import { z } from 'zod';
import { RECEIPT_SCHEMA } from './helpers/receipt-schema.js';

const SHAPES = fileURLToPath(new URL('../../examples/shapes.png', import.meta.url));
const SHAPES_SIZE = { width: 320, height: 200 };
const GREEDY = { temperature: 0, seed: 7, maxTokens: 6 } as const;

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

describe('pixtral-ts library API', () => {
  let model: Model;

  before(async () => {
    let progress = 0;
    model = await loadModel(undefined, { onProgress: (done) => (progress = done), onWarning: () => {} });
    assert.ok(progress > 0, 'onProgress was called');
  });
  after(() => model.close());

  it('loads the demo model by default', () => {
    assert.equal(model.id, 'pixtral-demo');
    assert.equal(model.vision, true);
    assert.ok(model.maxContext > 1000);
    assert.match(model.backend, /native|reference/);
  });

  it('streams typed events: text deltas, then usage, then finish', async () => {
    const events = await collect(model.chat({ messages: 'Say something.', ...GREEDY }));
    const texts = events.filter((e) => e.type === 'text');
    assert.ok(texts.length > 0);
    const [usage, finish] = events.slice(-2);
    assert.equal(usage?.type, 'usage');
    assert.equal(finish?.type, 'finish');
    if (usage?.type !== 'usage' || finish?.type !== 'finish') return;
    assert.equal(finish.finishReason, 'length');
    assert.equal(finish.text, texts.map((e) => (e.type === 'text' ? e.text : '')).join(''));
    assert.equal(usage.usage.completionTokens, GREEDY.maxTokens);
    assert.equal(usage.usage.totalTokens, usage.usage.promptTokens + GREEDY.maxTokens);
  });

  it('text() is the streamed answer; a stream is read once', async () => {
    const stream = model.chat({ messages: 'Say something.', ...GREEDY });
    const text = await stream.text();
    const again = await collect(model.chat({ messages: 'Say something.', ...GREEDY }));
    assert.equal(text, again.map((e) => (e.type === 'text' ? e.text : '')).join(''));
    assert.throws(() => stream[Symbol.asyncIterator](), PixtralError);
  });

  it('json() reads a JSON-schema answer', async () => {
    const receipt = await model
      .chat({
        messages: 'Extract the receipt.',
        responseFormat: { type: 'json_schema', schema: RECEIPT_SCHEMA },
        temperature: 0,
        maxTokens: 200,
      })
      .json();
    assert.deepEqual(Object.keys(receipt as object).sort(), ['merchant', 'paid', 'total_cents']);
  });

  it('json() with a zod schema: the answer is parsed by it and typed as its output', async () => {
    const Receipt = z.object({
      merchant: z.enum(['ACME', 'Globex']),
      totalCents: z.number().int(),
      paid: z.boolean(),
      items: z.array(z.object({ name: z.string().max(12), cents: z.number().int() })).max(2),
    });
    const receipt: z.infer<typeof Receipt> = await model
      .chat({ messages: 'Extract the receipt.', responseFormat: Receipt, temperature: 0, maxTokens: 300 })
      .json();
    assert.deepEqual(Receipt.parse(receipt), receipt);
    assert.ok(['ACME', 'Globex'].includes(receipt.merchant));
    // a document the schema refuses is an OutputParseError, not a silently wrong type
    const Stricter = Receipt.refine(() => false, 'never');
    await assert.rejects(
      model.chat({ messages: 'Extract.', responseFormat: Stricter, temperature: 0, maxTokens: 300 }).json(),
      (err: unknown) => err instanceof OutputParseError && err.code === 'invalid_output',
    );
  });

  it('images as a Buffer, a Uint8Array, a file path, a file URL and a data: URI are the same image', async () => {
    const bytes = readFileSync(SHAPES);
    const sources = [
      bytes,
      new Uint8Array(bytes),
      SHAPES,
      new URL(`file://${SHAPES}`),
      `data:image/png;base64,${bytes.toString('base64')}`,
    ];
    const counts = await Promise.all(
      sources.map((image) => model.countTokens({ messages: 'What is this?', images: [image] })),
    );
    const textOnly = await model.countTokens({ messages: 'What is this?' });
    const imageTokens = model.imageTokens(SHAPES_SIZE.width, SHAPES_SIZE.height);
    assert.deepEqual(
      counts,
      sources.map(() => textOnly + imageTokens),
    );
    // and in a message's content, answered like any other prompt
    const answer = await model
      .chat({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', image: bytes },
              { type: 'text', text: 'Describe it.' },
            ],
          },
        ],
        ...GREEDY,
      })
      .result();
    assert.equal(
      answer.usage.promptTokens,
      (await model.countTokens({ messages: 'Describe it.' })) + imageTokens,
    );
  });

  it('an AbortSignal ends the generation within one token', async () => {
    const controller = new AbortController();
    let after = 0;
    let aborted = false;
    await assert.rejects(
      (async () => {
        for await (const event of model.chat({
          messages: 'Talk.',
          temperature: 0,
          maxTokens: 500,
          signal: controller.signal,
        })) {
          if (aborted) after++;
          if (event.type === 'text' && !aborted) {
            aborted = true;
            controller.abort();
          }
        }
      })(),
      (err: unknown) => err instanceof AbortError && err.code === 'aborted' && err.name === 'AbortError',
    );
    assert.ok(after <= 1, `${after} events after the abort`);
    // an already-aborted signal never starts
    await assert.rejects(model.chat({ messages: 'Talk.', signal: AbortSignal.abort() }).text(), AbortError);
  });

  it('tokenize, detokenize, countTokens and imageTokens', async () => {
    const ids = model.tokenize('Hello, world');
    assert.ok(ids.length >= 2);
    assert.equal(model.detokenize(ids), 'Hello, world');
    const count = await model.countTokens({ messages: 'Hello, world' });
    assert.ok(count > ids.length, 'the chat template adds tokens');
    assert.equal(model.imageTokens(1024, 1024), 64 * 65); // 64 rows of 64 [IMG] and a break/end each
    assert.equal(model.imageTokens(2048, 1024), 32 * 65, 'halved to fit 1024 pixels: 64 × 32 patches');
    assert.equal(model.imageTokens(16, 16), 2);
  });

  it('typed errors with stable codes', async () => {
    await assert.rejects(model.chat({ messages: 'Hi', temperature: -1 }).text(), (err: unknown) => {
      assert.ok(err instanceof InvalidRequestError);
      assert.equal(err.code, 'invalid_request');
      assert.deepEqual(err.issues[0]?.loc, ['body', 'temperature']);
      return true;
    });
    await assert.rejects(
      model.chat({ messages: 'Hi', images: ['/no/such/image.png'] }).text(),
      InvalidRequestError,
    );
    await assert.rejects(
      loadModel('/no/such/model'),
      (err: unknown) => err instanceof ModelNotFoundError && err.code === 'model_not_found',
    );
    const small = await loadModel('builtin:tiny', { maxContext: 32, onWarning: () => {} });
    try {
      await assert.rejects(small.chat({ messages: 'word '.repeat(100) }).text(), (err: unknown) => {
        assert.ok(err instanceof ContextLengthError);
        assert.equal(err.code, 'context_length_exceeded');
        assert.equal(err.maxContext, 32);
        return true;
      });
      assert.ok(
        (await small.countTokens({ messages: 'word '.repeat(100) })) > 32,
        'counted even when too long',
      );
    } finally {
      await small.close();
    }
  });

  describe('createServer and the remote client', () => {
    let app: Awaited<ReturnType<typeof createServer>>;
    let url: string;

    before(async () => {
      app = await createServer({ model });
      await app.listen({ host: '127.0.0.1', port: 0 });
      url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    });
    after(() => app.close());

    it('serves the Mistral API for the model', async () => {
      const models = await app.inject({ method: 'GET', url: '/v1/models' });
      assert.equal(models.statusCode, 200);
      assert.equal(models.json().data[0].id, model.id);
    });

    it('a remote client streams the same answer as the model itself', async () => {
      const remote = connect(url, { model: model.id });
      const request = { messages: 'Describe the picture.', images: [SHAPES], ...GREEDY };
      const local = await model.chat(request).result();
      const events = await collect(remote.chat(request));
      const finish = events.at(-1);
      assert.equal(finish?.type, 'finish');
      if (finish?.type !== 'finish') return;
      assert.equal(finish.text, local.text);
      assert.equal(finish.finishReason, 'length');
      const usage = (chat: ChatEvent[]) => chat.find((e) => e.type === 'usage')?.usage;
      // The same counts; cached tokens are each side's own (the server scopes its cache to the caller).
      assert.deepEqual({ ...usage(events), cachedTokens: 0 }, { ...local.usage, cachedTokens: 0 });
      const again = usage(await collect(remote.chat(request)));
      assert.ok(again!.cachedTokens > 0, 'the second remote ask reports the prefix the server had cached');
    });

    it('a remote client reports errors with the same classes', async () => {
      const wrongModel = connect(url, { model: 'no-such-model' });
      await assert.rejects(wrongModel.chat({ messages: 'Hi', maxTokens: 2 }).text(), InvalidRequestError);
      const nowhere = connect('http://127.0.0.1:9', { model: model.id });
      await assert.rejects(
        nowhere.chat({ messages: 'Hi', maxTokens: 2 }).text(),
        (err: unknown) => err instanceof PixtralError && err.code === 'remote_error',
      );
    });
  });
});
