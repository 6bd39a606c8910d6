/**
 * Chat encoding for Pixtral (instruct v3, Tekken): Mistral chat-completion request → prompt token ids,
 * exactly as mistral-common's `InstructTokenizerV3` does it.
 *
 * Typical server flow:
 *   const body = parsePyJson(text);                 // or JSON.parse (loses 1.0-vs-1 and key order)
 *   const request = validateChatRequest(body);      // throws ChatValidationError → HTTP 422
 *   const conv = normalizeChat(request);
 *   const grids = await decode(imageUrlsInPromptOrder(conv));   // image module, in this order
 *   const { ids } = renderPrompt(conv, tokenizer, grids);
 */
import type { ImageGrid } from './image-tokens.js';
import { normalizeChat } from './normalize.js';
import { renderPrompt, type ChatTokenizer, type RenderedPrompt } from './render.js';
import type { ChatRequest } from './types.js';

export type * from './types.js';
export { validateChatRequest } from './validate.js';
export {
  ChatValidationError,
  type ValidationIssue,
  type ValidationErrorBody,
  type Loc,
} from './validation-error.js';
export {
  normalizeChat,
  normalizeJsonContent,
  type Conversation,
  type Turn,
  type UserTurn,
  type AssistantTurn,
  type ToolTurn,
  type NormalizedToolCall,
  type PromptChunk,
} from './normalize.js';
export { renderPrompt, type ChatTokenizer, type RenderedPrompt } from './render.js';
export { chunksInPromptOrder, imageUrlsInPromptOrder } from './prompt-order.js';
export { imageTokenLayout, type ImageGrid } from './image-tokens.js';
export { toolsJson, toolCallsJson, toolResultJson } from './payloads.js';
export {
  PyFloat,
  PyJsonParseError,
  pyFloatRepr,
  pyJsonDumps,
  pyJsonString,
  parsePyJson,
  tryParsePyJson,
  type JsonValue,
} from './pyjson.js';

/**
 * Normalises and renders a validated request. `imageGrids` are the patch grids of the request's images in
 * prompt order (`imageUrlsInPromptOrder(normalizeChat(request))`).
 */
export function encodeChat(
  request: ChatRequest,
  tokenizer: ChatTokenizer,
  imageGrids: readonly ImageGrid[] = [],
): RenderedPrompt {
  return renderPrompt(normalizeChat(request), tokenizer, imageGrids);
}
