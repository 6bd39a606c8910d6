/** validateChatRequest: conversation-level rules (mistral-common v3 validator), each naming its message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatValidationError, validateChatRequest, type ValidationIssue } from '../src/chat/index.js';

const USER = { role: 'user', content: 'hi' };
const CALL = { id: 'abcDEF123', type: 'function', function: { name: 'get_weather', arguments: '{}' } };

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

describe('validateChatRequest: conversation rules', () => {
  it('tool message without a preceding tool call', () => {
    rejects(
      { messages: [USER, { role: 'tool', tool_call_id: 'abcDEF123', content: '1' }] },
      ['body', 'messages', 1, 'role'],
      'value_error',
      /Tool message must follow an assistant message with tool calls/,
    );
  });

  it('more results than calls, or unanswered calls', () => {
    const tool = { role: 'tool', tool_call_id: 'abcDEF123', content: '1' };
    rejects(
      { messages: [USER, { role: 'assistant', tool_calls: [CALL] }, tool, tool] },
      ['body', 'messages', 3, 'role'],
      'value_error',
      /More tool messages than tool calls/,
    );
    rejects(
      { messages: [USER, { role: 'assistant', tool_calls: [CALL, CALL] }, tool, USER] },
      ['body', 'messages', 1, 'tool_calls'],
      'value_error',
      /Not the same number of function calls and responses/,
    );
  });

  it('last message must be user or tool, or an assistant prefix', () => {
    rejects(
      { messages: [USER, { role: 'assistant', content: 'yo' }] },
      ['body', 'messages', 1, 'role'],
      'value_error',
      /Expected last role User or Tool/,
    );
    rejects(
      { messages: [USER, { role: 'assistant', content: 'yo' }, { role: 'system', content: 's' }] },
      ['body', 'messages', 1, 'role'],
      'value_error',
      /Expected last role User or Tool/,
    );
    rejects(
      { messages: [{ role: 'assistant', content: 'yo', prefix: true }] },
      ['body', 'messages', 0, 'role'],
      'value_error',
      /must start with a user/,
    );
    assert.doesNotThrow(() =>
      validateChatRequest({ messages: [USER, { role: 'assistant', content: 'yo', prefix: true }] }),
    );
    assert.doesNotThrow(() =>
      validateChatRequest({
        messages: [USER, { role: 'assistant', content: 'yo' }],
        continue_final_message: true,
      }),
    );
    assert.doesNotThrow(() =>
      validateChatRequest({ messages: [{ role: 'system', content: 'only a system prompt' }] }),
    );
  });

  it('prefix only on the last message', () => {
    rejects(
      { messages: [USER, { role: 'assistant', content: 'a', prefix: true }, USER] },
      ['body', 'messages', 1, 'prefix'],
      'value_error',
      /prefix True must be last message/,
    );
  });

  it('assistant: content xor tool calls, also across a merged run', () => {
    const tool = { role: 'tool', tool_call_id: 'abcDEF123', content: '1' };
    rejects(
      { messages: [USER, { role: 'assistant', content: 'a', tool_calls: [CALL] }, tool] },
      ['body', 'messages', 1, 'tool_calls'],
      'value_error',
      /either content or tool_calls, but not both/,
    );
    rejects(
      { messages: [USER, { role: 'assistant', content: '' }, USER] },
      ['body', 'messages', 1, 'content'],
      'value_error',
      /either content or tool_calls/,
    );
    rejects(
      {
        messages: [
          USER,
          { role: 'assistant', content: 'a' },
          { role: 'assistant', tool_calls: [CALL] },
          tool,
        ],
      },
      ['body', 'messages', 2, 'tool_calls'],
      'value_error',
      /consecutive assistant messages are merged/,
    );
  });
});
