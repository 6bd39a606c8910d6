/** Plain-fetch helpers for the server tests: chat requests, Mistral-shaped error checks, SSE bodies. */
import assert from 'node:assert/strict';
import { MODEL } from './server.js';

export interface ErrorResponseBody {
  object: string;
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  detail?: { loc: (string | number)[]; msg: string; type: string }[];
}

/** POST /v1/chat/completions; `body` is sent as JSON with `model` filled in unless it says otherwise. */
export function postChat(
  server: { url: string },
  key: string | null,
  body: Record<string, unknown> | string,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key !== null && { authorization: `Bearer ${key}` }) },
    body: typeof body === 'string' ? body : JSON.stringify({ model: MODEL, ...body }),
    ...(signal && { signal }),
  });
}

export const ask = (content: unknown, extra: Record<string, unknown> = {}) => ({
  messages: [{ role: 'user', content }],
  temperature: 0,
  max_tokens: 2,
  ...extra,
});

/** Asserts the status and the Mistral error shape `{object: 'error', message, type, param, code}`. */
export async function assertApiError(
  res: Response,
  status: number,
  type: string,
  code: string | null,
): Promise<ErrorResponseBody> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = JSON.parse(text) as ErrorResponseBody;
  assert.equal(body.object, 'error');
  assert.equal(typeof body.message, 'string');
  assert.ok(body.message.length > 0);
  assert.equal(body.type, type);
  assert.equal(body.param, null);
  assert.equal(body.code, code);
  return body;
}

/** A 422 whose `detail` names exactly this field. */
export async function assertInvalidField(res: Response, loc: (string | number)[]) {
  const body = await assertApiError(res, 422, 'invalid_request_error', null);
  assert.ok(Array.isArray(body.detail) && body.detail.length > 0, 'detail array');
  assert.deepEqual(body.detail[0]!.loc, loc);
  assert.equal(typeof body.detail[0]!.msg, 'string');
  return body;
}

/** SSE text → frames, in order. */
export function sseFrames(text: string): { event: string; data: string }[] {
  return text
    .split(/\n\n/)
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data };
    });
}

/** An open streaming response: read it piecewise, then the rest as text. */
export class OpenStream {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  text = '';

  constructor(readonly res: Response) {
    assert.equal(res.status, 200);
    this.reader = res.body!.getReader();
  }

  /** Reads until the body so far holds a frame with generated content. */
  async untilContent(): Promise<void> {
    while (!/"content":"[^"]/.test(this.text)) {
      const { value, done } = await this.reader.read();
      if (done) throw new Error(`stream ended before any content: ${this.text}`);
      this.text += this.decoder.decode(value, { stream: true });
    }
  }

  async rest(): Promise<string> {
    for (;;) {
      const { value, done } = await this.reader.read();
      if (done) return (this.text += this.decoder.decode());
      this.text += this.decoder.decode(value, { stream: true });
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel().catch(() => {});
  }
}
