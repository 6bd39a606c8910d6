/**
 * Pixtral TS as a library: `import { loadModel } from 'pixtral-ts'`. Everything an application may use is
 * exported here and nowhere else (package.json `exports` exposes only this file); the rest of src/ can change.
 */
export { DEFAULT_MODEL, loadModel, Model, type LoadOptions } from './library/model.js';
export { connect, RemoteModel, type ConnectOptions } from './library/remote.js';
export { createServer, DEFAULT_SERVER_DB, type ServerOptions } from './library/server.js';
export {
  ChatStream,
  type ChatEvent,
  type ChatResult,
  type FinishReason,
  type Usage,
} from './library/chat-stream.js';
export type {
  ChatOptions,
  ContentPart,
  Message,
  Tool,
  ToolCall,
  ToolChoice,
} from './library/chat-request.js';
export type { ImageSource } from './library/images.js';
export type { JsonSchema, ResponseFormat, ZodSchemaLike } from './library/response-format.js';
export {
  AbortError,
  AuthenticationError,
  BackendUnavailableError,
  ContextLengthError,
  InvalidRequestError,
  ModelNotFoundError,
  OutputParseError,
  OverloadedError,
  PixtralError,
  RemoteError,
  type PixtralErrorCode,
  type ValidationIssue,
} from './library/errors.js';
