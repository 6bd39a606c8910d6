/**
 * The library's errors: one class per thing an application reacts to differently, each with a stable `code`.
 * Which internal error is which kind is not decided here: {@link toLibraryError} asks the server's mapping
 * (src/server/errors.ts `toApiError`, the one place that classifies engine, image and request errors) and
 * turns its HTTP status into a class, so the library and the API can never disagree about an error.
 */
import { BackendUnavailableError as EngineBackendError } from '../backend/errors.js';
import type { ValidationIssue } from '../chat/validation-error.js';
import { ContextLengthError as EngineContextLengthError } from '../generate/sequence.js';
import { HubError } from '../hub/hub-errors.js';
import { ApiError, toApiError } from '../server/errors.js';

export type PixtralErrorCode =
  | 'invalid_request'
  | 'context_length_exceeded'
  | 'model_not_found'
  | 'backend_unavailable'
  | 'overloaded'
  | 'authentication_failed'
  | 'remote_error'
  | 'invalid_output'
  | 'aborted';

export type { ValidationIssue };

/** Every error the library throws on purpose. `code` is stable; messages may be reworded. */
export class PixtralError extends Error {
  constructor(
    readonly code: PixtralErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PixtralError';
  }
}

/** The request cannot be served as written: a field (see `issues`), an image (see `reason`), a URL. */
export class InvalidRequestError extends PixtralError {
  constructor(
    message: string,
    /** What the API's error `code` would be (`too_large`, `unsupported_format`, `invalid_image_url`, …). */
    readonly reason: string | null = null,
    /** Every field problem, Mistral-style (`loc` starts with `'body'`), when the request body was at fault. */
    readonly issues: readonly ValidationIssue[] = [],
    options?: { cause?: unknown },
  ) {
    super('invalid_request', message, options);
    this.name = 'InvalidRequestError';
  }
}

/** The prompt (text and images) does not leave room for an answer in the model's context. */
export class ContextLengthError extends PixtralError {
  constructor(
    readonly promptTokens: number,
    readonly maxContext: number,
    options?: { cause?: unknown },
  ) {
    super(
      'context_length_exceeded',
      `the prompt has ${promptTokens} tokens but the model's context is ${maxContext} tokens`,
      options,
    );
    this.name = 'ContextLengthError';
  }
}

/** No model under that path or name (a hub model must be pulled first: `pixtral pull NAME`). */
export class ModelNotFoundError extends PixtralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('model_not_found', message, options);
    this.name = 'ModelNotFoundError';
  }
}

/** What was asked needs the native kernels (backend 'native', quantized weights) and they did not load. */
export class BackendUnavailableError extends PixtralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('backend_unavailable', message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Too much work queued (or the model is closing): try again later. */
export class OverloadedError extends PixtralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('overloaded', message, options);
    this.name = 'OverloadedError';
  }
}

/** A remote server refused the API key. */
export class AuthenticationError extends PixtralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('authentication_failed', message, options);
    this.name = 'AuthenticationError';
  }
}

/** A remote server could not be reached or failed. */
export class RemoteError extends PixtralError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('remote_error', message, options);
    this.name = 'RemoteError';
  }
}

/** `json()` on an answer that is not JSON, or not of the schema (a `length` finish cuts a document short). */
export class OutputParseError extends PixtralError {
  constructor(
    message: string,
    readonly text: string,
    options?: { cause?: unknown },
  ) {
    super('invalid_output', message, options);
    this.name = 'OutputParseError';
  }
}

/**
 * The caller's AbortSignal fired. Named 'AbortError' like the platform's own, so code that checks
 * `err.name === 'AbortError'` (fetch, streams, Express helpers) treats it alike; the signal's reason is `cause`.
 */
export class AbortError extends PixtralError {
  constructor(cause?: unknown) {
    super('aborted', 'the generation was aborted', { cause });
    this.name = 'AbortError';
  }
}

/**
 * Any error from loading, preparing or generating → the library's class for it; errors nobody classified
 * (bugs, I/O) pass through unchanged rather than being dressed up as something they are not.
 */
export function toLibraryError(err: unknown, signal?: AbortSignal): unknown {
  if (err instanceof PixtralError) return err;
  if (signal?.aborted) return new AbortError(signal.reason);
  if (err instanceof EngineContextLengthError)
    return new ContextLengthError(err.promptTokens, err.maxContext, { cause: err });
  if (err instanceof EngineBackendError) return new BackendUnavailableError(err.message, { cause: err });
  if (err instanceof HubError) return new ModelNotFoundError(err.message, { cause: err });
  const api = toApiError(err);
  if (api.code === 'internal_error' && !(err instanceof ApiError)) return err;
  const options = { cause: err };
  if (api.status === 401 || api.status === 403) return new AuthenticationError(api.message, options);
  if (api.status === 404) return new ModelNotFoundError(api.message, options);
  if (api.status === 429 || api.status === 503) return new OverloadedError(api.message, options);
  if (api.status >= 400 && api.status < 500) {
    const issues = Array.isArray(api.detail) ? (api.detail as ValidationIssue[]) : [];
    return new InvalidRequestError(api.message, api.code, issues, options);
  }
  return new RemoteError(api.message, options);
}
