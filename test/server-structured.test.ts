/** JSON mode, JSON-schema output and tool calls through the official SDKs: always well-formed results. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Mistral } from '@mistralai/mistralai';
import OpenAI from 'openai';
import { validator } from './helpers/ajv.js';
import { MODEL, startTestServer, type TestServer } from './helpers/server.js';
import { RECEIPT_SCHEMA } from './helpers/receipt-schema.js';

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather in a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', enum: ['Paris', 'London'] }, celsius: { type: 'boolean' } },
      required: ['city', 'celsius'],
    },
  },
};
const TIME_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_time',
    description: 'Current time',
    parameters: { type: 'object', properties: { utc: { type: 'boolean' } }, required: ['utc'] },
  },
};

describe('structured output through the SDKs', () => {
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

  it('json_schema output (Mistral SDK) is a document of the schema', async () => {
    const res = await mistral.chat.complete({
      model: MODEL,
      messages: [{ role: 'user', content: 'Extract the receipt as JSON.' }],
      temperature: 0,
      maxTokens: 120,
      responseFormat: {
        type: 'json_schema',
        jsonSchema: { name: 'receipt', schemaDefinition: RECEIPT_SCHEMA, strict: true },
      },
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finishReason, 'stop');
    const receipt = JSON.parse(choice.message!.content as string);
    assert.deepEqual(Object.keys(receipt).sort(), ['merchant', 'paid', 'total_cents']);
    assert.ok(['ACME', 'Globex'].includes(receipt.merchant));
    assert.ok(Number.isInteger(receipt.total_cents));
    assert.equal(typeof receipt.paid, 'boolean');
  });

  it('json_schema output streams (OpenAI SDK) and the joined deltas parse', async () => {
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Receipt as JSON please.' }],
      temperature: 0.8,
      seed: 5,
      max_tokens: 120,
      stream: true,
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'receipt', schema: RECEIPT_SCHEMA, strict: true },
      },
    });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'stop');
    const receipt = JSON.parse(text);
    assert.ok(['ACME', 'Globex'].includes(receipt.merchant));
  });

  it('json_object mode never returns broken JSON: either a parsed object or a length cut', async () => {
    const res = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Any JSON object.' }],
      temperature: 0,
      max_tokens: 40,
      response_format: { type: 'json_object' },
    });
    const { content } = res.choices[0]!.message;
    assert.match(content!.trimStart(), /^\{/);
    if (res.choices[0]!.finish_reason === 'stop') assert.equal(typeof JSON.parse(content!), 'object');
    else assert.equal(res.choices[0]!.finish_reason, 'length');
  });

  it('tool_choice any returns a well-formed call of an offered tool (Mistral SDK)', async () => {
    const res = await mistral.chat.complete({
      model: MODEL,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      toolChoice: 'any',
      parallelToolCalls: false,
      temperature: 0,
      maxTokens: 80,
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finishReason, 'tool_calls');
    const calls = choice.message!.toolCalls!;
    assert.equal(calls.length, 1, 'parallel_tool_calls: false');
    for (const call of calls) {
      assert.match(call.id!, /^[A-Za-z0-9]{9}$/);
      const args = JSON.parse(call.function.arguments as string);
      if (call.function.name === 'get_weather') {
        assert.ok(['Paris', 'London'].includes(args.city));
        assert.equal(typeof args.celsius, 'boolean');
      } else {
        assert.equal(call.function.name, 'get_time');
        assert.equal(typeof args.utc, 'boolean');
      }
    }
  });

  it('a named tool_choice forces that tool, streamed as a tool_calls delta (OpenAI SDK)', async () => {
    const stream = await openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Time?' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      parallel_tool_calls: false,
      temperature: 0,
      max_tokens: 60,
      stream: true,
    });
    const names: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        names.push(call.function!.name!);
        assert.equal(typeof JSON.parse(call.function!.arguments!).utc, 'boolean');
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.ok(names.length >= 1 && names.every((n) => n === 'get_time'));
  });

  it('a tool result in the history is accepted and answered', async () => {
    const res = await mistral.chat.complete({
      model: MODEL,
      messages: [
        { role: 'user', content: 'Weather in London?' },
        {
          role: 'assistant',
          content: '',
          toolCalls: [
            {
              id: 'abcDEF123',
              function: { name: 'get_weather', arguments: '{"city": "London", "celsius": true}' },
            },
          ],
        },
        { role: 'tool', toolCallId: 'abcDEF123', name: 'get_weather', content: '{"temp": 12}' },
      ],
      tools: [WEATHER_TOOL],
      toolChoice: 'none',
      temperature: 0,
      maxTokens: 5,
    });
    assert.equal(res.choices[0]!.message!.toolCalls ?? null, null);
    assert.ok(res.usage.promptTokens! > 20);
  });

  it('a tiny max_tokens closes the document early: it parses and validates, finish_reason length, truncated', async () => {
    const schemas = [
      RECEIPT_SCHEMA,
      { type: 'object', properties: { note: { type: 'string', minLength: 2 } }, required: ['note'] },
      { type: 'array', items: { type: 'string', format: 'email' }, minItems: 2 },
      {
        type: 'object',
        properties: { a: { type: 'array', items: { type: 'integer', minimum: 1000 } } },
        required: ['a'],
      },
    ];
    let truncated = 0;
    for (const [i, schema] of schemas.entries())
      for (const stream of [false, true]) {
        const res = await post({
          model: MODEL,
          messages: [{ role: 'user', content: 'JSON please.' }],
          temperature: 1,
          seed: i,
          max_tokens: 24,
          stream,
          response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
        });
        assert.equal(res.status, 200);
        const choice = stream ? await streamedChoice(res) : plainChoice((await res.json()) as never);
        assert.equal(validator(schema)(JSON.parse(choice.content)), null, choice.content);
        if (choice.finish_reason === 'length') assert.equal(choice.truncated, true, choice.content);
        else assert.equal(choice.truncated, undefined);
        if (choice.truncated) truncated++;
      }
    assert.ok(truncated >= 6, `${truncated} of 8 answers were closed early`);
  });

  interface Choice {
    content: string;
    finish_reason: string;
    truncated?: boolean;
  }

  function plainChoice(body: {
    choices: (Omit<Choice, 'content'> & { message: { content: string } })[];
  }): Choice {
    const { message, ...rest } = body.choices[0]!;
    return { ...rest, content: message.content };
  }

  /** The joined content and the final chunk's finish_reason / truncated of a streamed answer. */
  async function streamedChoice(res: Response): Promise<Choice> {
    const choice: Choice = { content: '', finish_reason: '' };
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('data: {')) continue;
      const c = JSON.parse(line.slice(6)).choices[0];
      choice.content += c.delta.content ?? '';
      if (c.finish_reason) Object.assign(choice, { finish_reason: c.finish_reason, truncated: c.truncated });
    }
    return choice;
  }

  it('an unusable schema is a 422 naming response_format', async () => {
    const res = await post({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'tuple' } } },
    });
    assert.equal(res.status, 422);
    const body = (await res.json()) as { detail: { loc: unknown[] }[] };
    assert.deepEqual(body.detail[0]!.loc, ['body', 'response_format', 'json_schema', 'schema']);
  });

  it('a keyword outside the supported subset is a 422 naming the keyword and its place in the schema', async () => {
    const schema = { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]+$' } } };
    const res = await post({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema } },
    });
    assert.equal(res.status, 422);
    const [issue] = ((await res.json()) as { detail: { loc: unknown[]; msg: string }[] }).detail;
    assert.deepEqual(issue!.loc, ['body', 'response_format', 'json_schema', 'schema']);
    assert.match(issue!.msg, /"pattern".*#\/properties\/code/);

    const tool = {
      ...TIME_TOOL,
      function: { ...TIME_TOOL.function, parameters: { type: 'object', not: {} } },
    };
    const toolRes = await post({
      model: MODEL,
      messages: [{ role: 'user', content: 'x' }],
      tools: [WEATHER_TOOL, tool],
    });
    assert.equal(toolRes.status, 422);
    const [toolIssue] = ((await toolRes.json()) as { detail: { loc: unknown[]; msg: string }[] }).detail;
    assert.deepEqual(toolIssue!.loc, ['body', 'tools', 1, 'function', 'parameters']);
    assert.match(toolIssue!.msg, /"not"/);
  });

  async function post(body: unknown): Promise<Response> {
    return fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await server.key()}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }
});
