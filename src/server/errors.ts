/**
 * API errors shaped as the hosted Mistral API returns them — `{object: "error", message, type, param, code}`,
 * plus Pydantic-style `detail` for 422s — and the one place that maps engine, image and storage errors to an
 * HTTP status. Messages never echo secrets or image data.
 */
import { ChatValidationError } from '../chat/validation-error.js';
import { QueueFullError, SchedulerClosedError } from '../engine/scheduler.js';
import { UnsupportedImageUrlError } from '../engine/fetchers.js';
import { ContextLengthError } from '../generate/sequence.js';
import { ImageError } from '../image/errors.js';

export interface ErrorBody {
  object: 'error';
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  detail?: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    const body: ErrorBody = {
      object: 'error',
      message: this.message,
      type: this.type,
      param: null,
      code: this.code,
    };
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }
}

export const unauthorized = (
  message = 'Unauthorized: a valid API key is required (Authorization: Bearer KEY)',
) => new ApiError(401, message, 'authentication_error', 'invalid_api_key');

export const notFound = (message: string) => new ApiError(404, message, 'invalid_request_error', 'not_found');

export const invalidRequest = (message: string, code: string | null = null) =>
  new ApiError(400, message, 'invalid_request_error', code);

/** A 422 for a field the chat validator does not know (server-level options such as `n` or `model`). */
export function invalidField(loc: (string | number)[], msg: string, type = 'value_error'): ApiError {
  return toApiError(new ChatValidationError([{ loc, msg, type }]));
}

const IMAGE_STATUS: Record<ImageError['code'], number> = {
  too_large: 413,
  too_many_pixels: 413,
  unsupported_format: 400,
  truncated: 400,
  empty_image: 400,
  not_an_image: 400,
  bad_data_uri: 400,
};

/** Maps any error thrown while serving a request to the API error the client sees. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ChatValidationError) {
    const body = err.toResponseBody();
    return new ApiError(422, body.message, body.type, null, {}, body.detail);
  }
  if (err instanceof ContextLengthError)
    return new ApiError(
      400,
      `Prompt contains ${err.promptTokens} tokens, too large for model with ${err.maxContext} maximum context length`,
      'invalid_request_error',
      'context_length_exceeded',
    );
  if (err instanceof ImageError)
    return new ApiError(IMAGE_STATUS[err.code], err.message, 'invalid_request_error', err.code);
  if (err instanceof UnsupportedImageUrlError)
    return new ApiError(400, err.message, 'invalid_request_error', 'unsupported_image_url');
  if (err instanceof QueueFullError)
    return new ApiError(503, err.message, 'service_unavailable', 'overloaded', { 'retry-after': '1' });
  if (err instanceof SchedulerClosedError)
    return new ApiError(503, err.message, 'service_unavailable', 'shutting_down');
  const fastify = err as { statusCode?: number; code?: string; message?: string };
  if (fastify?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return new ApiError(
      415,
      'Unsupported content type: send the request body as JSON with content-type: application/json',
      'invalid_request_error',
      'unsupported_media_type',
    );
  if (fastify?.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new ApiError(413, 'Request body is too large', 'invalid_request_error', 'request_too_large');
  if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500)
    return new ApiError(
      fastify.statusCode,
      fastify.message ?? 'Bad request',
      'invalid_request_error',
      fastify.code ?? null,
    );
  return new ApiError(500, 'Internal server error', 'internal_error', 'internal_error');
}
