/** validateChatRequest: every rejection names the message and field (Pydantic-style 422 `detail`). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChatValidationError,
  parsePyJson,
  validateChatRequest,
  type ValidationIssue,
} from '../src/chat/index.js';

const USER = { role: 'user', content: 'hi' };
const CALL = { id: 'abcDEF123', type: 'function', function: { name: 'get_weather', arguments: '{}' } };
const TOOL = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } };

function issuesOf(body: unknown): ValidationIssue[] {
  try {
    validateChatRequest(body);
  } catch (e) {
    assert.ok(e instanceof ChatValidationError);
    return e.issues;
  }
  assert.fail('expected a ChatValidationError');
}

/** The request fails with exactly one issue at `loc`, whose message matches `msg`. */
function rejects(body: unknown, loc: (string | number)[], type: string, msg: RegExp): void {
  const issues = issuesOf(body);
  assert.equal(issues.length, 1, JSON.stringify(issues));
  assert.deepEqual(issues[0]!.loc, loc);
  assert.equal(issues[0]!.type, type);
  assert.match(issues[0]!.msg, msg);
}

describe('validateChatRequest: shape', () => {
  it('body must be an object with a non-empty messages list', () => {
    rejects([], ['body'], 'dict_type', /valid dictionary/);
    rejects({}, ['body', 'messages'], 'missing', /^Field required$/);
    rejects({ messages: 'hi' }, ['body', 'messages'], 'list_type', /valid list/);
    rejects({ messages: [] }, ['body', 'messages'], 'too_short', /at least 1 item/);
  });

  it('unknown or missing role', () => {
    rejects(
      { messages: [{ role: 'bot', content: 'x' }] },
      ['body', 'messages', 0, 'role'],
      'union_tag_invalid',
      /Input tag 'bot' found using 'role'.*'system', 'user', 'assistant', 'tool'/,
    );
    rejects({ messages: [{ content: 'x' }] }, ['body', 'messages', 0, 'role'], 'missing', /Field required/);
    rejects({ messages: ['hi'] }, ['body', 'messages', 0], 'dict_type', /valid dictionary/);
  });

  it('content: type, part types, missing text', () => {
    rejects(
      { messages: [{ role: 'user', content: 3 }] },
      ['body', 'messages', 0, 'content'],
      'string_type',
      /string/,
    );
    rejects(
      { messages: [{ role: 'user' }] },
      ['body', 'messages', 0, 'content'],
      'missing',
      /Field required/,
    );
    rejects(
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'audio', data: '' },
            ],
          },
        ],
      },
      ['body', 'messages', 0, 'content', 1, 'type'],
      'union_tag_invalid',
      /Input tag 'audio' found using 'type'.*'text', 'image_url'/,
    );
    rejects(
      { messages: [{ role: 'user', content: [{ type: 'text' }] }] },
      ['body', 'messages', 0, 'content', 0, 'text'],
      'missing',
      /Field required/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: 'assistant', content: [{ type: 'image_url', image_url: 'data:,' }], prefix: true },
        ],
      },
      ['body', 'messages', 1, 'content', 0, 'type'],
      'union_tag_invalid',
      /expected tags: 'text'$/,
    );
    rejects(
      { messages: [{ role: 'system', content: null }, USER] },
      ['body', 'messages', 0, 'content'],
      'value_error',
      /System prompt must have content/,
    );
  });

  it('image_url must be a string or {url: string}', () => {
    const msg = (image_url: unknown) => ({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url }] }],
    });
    rejects(msg(42), ['body', 'messages', 0, 'content', 0, 'image_url'], 'string_type', /string/);
    rejects(
      msg({ url: 5 }),
      ['body', 'messages', 0, 'content', 0, 'image_url', 'url'],
      'string_type',
      /string/,
    );
    rejects(
      msg({ detail: 'high' }),
      ['body', 'messages', 0, 'content', 0, 'image_url', 'url'],
      'missing',
      /required/,
    );
    assert.doesNotThrow(() => validateChatRequest(msg('https://example.com/a.png')));
    assert.doesNotThrow(() =>
      validateChatRequest(msg({ url: 'data:image/png;base64,AAAA', detail: 'auto' })),
    );
  });

  it('tool calls: function name and id patterns; "null" means no id', () => {
    const conv = (call: unknown) => ({
      messages: [
        USER,
        { role: 'assistant', tool_calls: [call] },
        { role: 'tool', tool_call_id: 'abcDEF123', content: '1' },
      ],
    });
    rejects(
      conv({ ...CALL, function: { name: 'get weather!', arguments: '{}' } }),
      ['body', 'messages', 1, 'tool_calls', 0, 'function', 'name'],
      'string_pattern_mismatch',
      /\^\[a-zA-Z0-9_-\]\{1,64\}\$/,
    );
    rejects(
      conv({ ...CALL, id: 'call_123' }),
      ['body', 'messages', 1, 'tool_calls', 0, 'id'],
      'string_pattern_mismatch',
      /\^\[a-zA-Z0-9\]\{9\}\$/,
    );
    rejects(
      conv({ ...CALL, type: 'code' }),
      ['body', 'messages', 1, 'tool_calls', 0, 'type'],
      'enum',
      /'function'/,
    );
    rejects(
      conv({ id: 'abcDEF123' }),
      ['body', 'messages', 1, 'tool_calls', 0, 'function'],
      'missing',
      /Field required/,
    );
    assert.doesNotThrow(() => validateChatRequest(conv({ ...CALL, id: 'null' })));
    assert.doesNotThrow(() => validateChatRequest(conv({ function: { name: 'f', arguments: { a: 1 } } })));
  });

  it('tool messages: tool_call_id required, 9 alphanumerics; name pattern', () => {
    const conv = (tool: object) => ({
      messages: [USER, { role: 'assistant', tool_calls: [CALL] }, { role: 'tool', content: '1', ...tool }],
    });
    rejects(conv({}), ['body', 'messages', 2, 'tool_call_id'], 'missing', /Field required/);
    rejects(
      conv({ tool_call_id: 'null' }),
      ['body', 'messages', 2, 'tool_call_id'],
      'string_pattern_mismatch',
      /9/,
    );
    rejects(
      conv({ tool_call_id: 'abcDEF123', name: 'a b' }),
      ['body', 'messages', 2, 'name'],
      'string_pattern_mismatch',
      /64/,
    );
  });

  it('tools entries', () => {
    const req = (tool: unknown) => ({ messages: [USER], tools: [TOOL, tool] });
    rejects(req('get_weather'), ['body', 'tools', 1], 'dict_type', /dictionary/);
    rejects(req({ type: 'function' }), ['body', 'tools', 1, 'function'], 'missing', /required/);
    rejects(
      req({ type: 'retrieval', function: { name: 'f' } }),
      ['body', 'tools', 1, 'type'],
      'enum',
      /'function'/,
    );
    rejects(
      req({ function: { name: 'bad name' } }),
      ['body', 'tools', 1, 'function', 'name'],
      'string_pattern_mismatch',
      /64/,
    );
    rejects(
      req({ function: { name: 'f', parameters: [] } }),
      ['body', 'tools', 1, 'function', 'parameters'],
      'dict_type',
      /dictionary/,
    );
    rejects(
      req({ function: { name: 'f', description: 3 } }),
      ['body', 'tools', 1, 'function', 'description'],
      'string_type',
      /string/,
    );
    rejects({ messages: [USER], tools: {} }, ['body', 'tools'], 'list_type', /list/);
    rejects(
      { messages: [USER], tools: [TOOL], tool_choice: 'sometimes' },
      ['body', 'tool_choice'],
      'enum',
      /'auto'/,
    );
    assert.doesNotThrow(() =>
      validateChatRequest({ messages: [USER], tools: [{ function: { name: 'f' } }], tool_choice: 'any' }),
    );
  });

  it('sampling parameters', () => {
    rejects({ messages: [USER], temperature: 'hot' }, ['body', 'temperature'], 'float_type', /number/);
    rejects({ messages: [USER], temperature: -1 }, ['body', 'temperature'], 'greater_than_equal', /0/);
    rejects({ messages: [USER], top_p: 2 }, ['body', 'top_p'], 'less_than_equal', /1/);
    rejects({ messages: [USER], max_tokens: 1.5 }, ['body', 'max_tokens'], 'int_from_float', /integer/);
    rejects({ messages: [USER], max_tokens: '7' }, ['body', 'max_tokens'], 'int_type', /integer/);
    rejects({ messages: [USER], stream: 'yes' }, ['body', 'stream'], 'bool_type', /boolean/);
    rejects({ messages: [USER], stop: ['a', 1] }, ['body', 'stop', 1], 'string_type', /string/);
    const ok = validateChatRequest(
      parsePyJson('{"messages": [{"role": "user", "content": "x"}], "temperature": 0.5, "max_tokens": 7.0}'),
    );
    assert.equal(ok.temperature, 0.5);
    assert.equal(ok.max_tokens, 7);
  });

  it('collects every field issue and builds the 422 body', () => {
    const body = { messages: [{ role: 'bot' }, { role: 'user', content: 1 }], tools: [1] };
    try {
      validateChatRequest(body);
      assert.fail('should throw');
    } catch (e) {
      assert.ok(e instanceof ChatValidationError);
      assert.deepEqual(
        e.issues.map((i) => i.loc),
        [
          ['body', 'messages', 0, 'role'],
          ['body', 'messages', 1, 'content'],
          ['body', 'tools', 0],
        ],
      );
      const res = e.toResponseBody();
      assert.equal(res.object, 'error');
      assert.equal(res.type, 'invalid_request_error');
      assert.equal(res.detail, e.issues);
      assert.match(res.message, /body\.messages\.0\.role/);
    }
  });
});

describe('validateChatRequest: bodies from parsePyJson', () => {
  it('reads Map objects and boxed numbers like plain ones', () => {
    const body = parsePyJson(
      '{"messages": [{"role": 12345678901234567890, "content": "x"}, {"role": "user", "content": [{"type": 1.0}]}]}',
    );
    const issues = issuesOf(body);
    assert.deepEqual(
      issues.map((i) => [i.loc, i.msg]),
      [
        [
          ['body', 'messages', 0, 'role'],
          "Input tag '12345678901234567890' found using 'role' does not match any of the expected tags: 'system', 'user', 'assistant', 'tool'",
        ],
        [
          ['body', 'messages', 1, 'content', 0, 'type'],
          "Input tag '1.0' found using 'type' does not match any of the expected tags: 'text', 'image_url'",
        ],
      ],
    );
  });
});
