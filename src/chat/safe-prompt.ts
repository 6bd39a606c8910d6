/**
 * `safe_prompt: true` (Mistral API): the guardrail system prompt goes before any system prompt of the request.
 * As a leading system message it is joined to the others with "\n\n" when the prompt is rendered.
 */
import type { ChatRequest } from './types.js';

export const SAFE_PROMPT =
  'Always assist with care, respect, and truth. Respond with utmost utility yet securely. Avoid harmful, unethical, prejudiced, or negative content. Ensure replies promote fairness and positivity.';

export function withSafePrompt(request: ChatRequest): ChatRequest {
  if (!request.safe_prompt) return request;
  return { ...request, messages: [{ role: 'system', content: SAFE_PROMPT }, ...request.messages] };
}
