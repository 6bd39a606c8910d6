/**
 * Conversation-level rules (mistral-common `MistralRequestValidatorV3`, serving mode), run on messages that
 * already passed the field checks. Messages follow mistral-common's wording so clients see familiar errors.
 *
 * Deliberately NOT enforced: mistral-common's role-transition table (`Unexpected role 'system' after role
 * 'assistant'`, `… 'user' after role 'tool'`). Mid-conversation system messages are common in OpenAI-style
 * clients, the v3 normaliser handles them (they are folded into the system prompt and break merges), and the
 * golden `image-history` request (user, assistant, system, user) relies on it.
 */
import type { AssistantMessage, ChatMessage } from './types.js';
import { Issues } from './validation-error.js';

const BASE = ['body', 'messages'] as const;

function assistantText(m: AssistantMessage): string {
  if (m.content === null || m.content === undefined) return '';
  return typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join('');
}

function hasCalls(m: AssistantMessage): boolean {
  return (m.tool_calls?.length ?? 0) > 0;
}

export function validateStructure(messages: ChatMessage[], continueFinal: boolean, issues: Issues): void {
  const n = messages.length;
  if (n === 1 && messages[0]!.role !== 'user' && messages[0]!.role !== 'system') {
    issues.valueError([...BASE, 0, 'role'], 'Conversation must start with a user message or system message');
  }

  // Every assistant message: text xor tool calls; `prefix` only on the last message.
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const text = assistantText(m) !== '';
    if (text === hasCalls(m)) {
      issues.valueError(
        [...BASE, i, text ? 'tool_calls' : 'content'],
        'Assistant message must have either content or tool_calls, but not both.',
      );
    }
    if (m.prefix && i !== n - 1) {
      issues.valueError([...BASE, i, 'prefix'], 'Assistant message with prefix True must be last message');
    }
  });

  // Tool results: one per call of the preceding assistant message, before anything else is said.
  let pending = 0;
  let callsAt = -1;
  const unanswered = (): void => {
    if (pending !== 0) {
      issues.valueError(
        [...BASE, callsAt, 'tool_calls'],
        'Not the same number of function calls and responses',
      );
    }
    pending = 0;
  };
  messages.forEach((m, i) => {
    if (m.role === 'tool') {
      if (pending > 0) pending--;
      else if (callsAt < 0)
        issues.valueError(
          [...BASE, i, 'role'],
          'Tool message must follow an assistant message with tool calls',
        );
      else
        issues.valueError(
          [...BASE, i, 'role'],
          'More tool messages than tool calls in the preceding assistant message',
        );
    } else if (m.role === 'assistant' || m.role === 'user') {
      unanswered();
      callsAt = -1;
      if (m.role === 'assistant' && hasCalls(m)) {
        pending = m.tool_calls!.length;
        callsAt = i;
      }
    }
  });
  unanswered();

  // Consecutive assistant messages are merged (system messages break the run); v3 cannot render a merged
  // message with both text and tool calls (mistral-common raises while encoding).
  let runText = false;
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') {
      runText = false;
      return;
    }
    if (runText && hasCalls(m)) {
      issues.valueError(
        [...BASE, i, 'tool_calls'],
        'Tool calls and content cannot be used together in the same assistant message (consecutive assistant messages are merged)',
      );
    }
    runText ||= assistantText(m) !== '';
  });

  // The prompt must end where the model should speak: after a user or tool message, or inside a prefix.
  // System messages are folded away, so the last non-system message decides.
  let last = n - 1;
  while (last >= 0 && messages[last]!.role === 'system') last--;
  if (last >= 0) {
    const m = messages[last]!;
    if (continueFinal) {
      if (m.role !== 'assistant' || m.prefix || last !== n - 1) {
        issues.valueError(
          [...BASE, last, 'role'],
          `Expected last role Assistant with prefix False for serving with continue_final_message set to True but got ${m.role}`,
        );
      }
    } else if (m.role === 'assistant' && !m.prefix) {
      issues.valueError(
        [...BASE, last, 'role'],
        'Expected last role User or Tool (or Assistant with prefix or continue_final_message set to True) for serving but got assistant',
      );
    }
  }
}
