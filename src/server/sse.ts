/**
 * Server-Sent Events on a raw Node response: `data: {json}` frames, an `event: error` frame when a stream fails
 * part-way (so clients see an error rather than a cut connection), and the closing `data: [DONE]`.
 */
import type { ServerResponse } from 'node:http';
import type { ErrorBody } from './errors.js';

export class SseWriter {
  constructor(private readonly res: ServerResponse) {}

  start(headers: Record<string, string>): void {
    // Set one by one (not passed to writeHead) so they stay readable: the metrics hook looks for event streams.
    const all = {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    for (const [name, value] of Object.entries(all)) this.res.setHeader(name, value);
    this.res.writeHead(200);
    this.res.flushHeaders();
  }

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  data(payload: unknown): void {
    if (this.open) this.res.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  error(body: ErrorBody): void {
    if (this.open) this.res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }

  done(): void {
    if (!this.open) return;
    this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
}
