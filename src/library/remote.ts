/**
 * A client with the model's `chat()` against a Pixtral TS server or any Mistral-compatible API. It is the
 * server's upstream engine (src/server/upstream.ts) behind the library's chat stream: the request is
 * validated and its prompt counted here with the bundled tokenizer, then streamed from the server.
 */
import { PIXTRAL_12B_NAME } from '../engine/model-source.js';
import { UpstreamEngine } from '../server/upstream.js';
import type { ChatOptions } from './chat-request.js';
import { ChatStream } from './chat-stream.js';
import { imageFetcher, type ImageRules } from './images.js';

export interface ConnectOptions extends ImageRules {
  /** The model to ask for (default Pixtral 12B's official name). */
  readonly model?: string;
  /** Sent as `Authorization: Bearer KEY`. */
  readonly apiKey?: string;
  /** The server's context, for the local prompt check (default 131072). */
  readonly maxContext?: number;
}

export class RemoteModel {
  private readonly engine: UpstreamEngine;
  private readonly fetchImage;

  /** @internal Use {@link connect}. */
  constructor(url: string, options: ConnectOptions = {}) {
    this.engine = new UpstreamEngine({
      url,
      model: options.model ?? PIXTRAL_12B_NAME,
      ...(options.apiKey !== undefined && { apiKey: options.apiKey }),
      ...(options.maxContext !== undefined && { maxContext: options.maxContext }),
    });
    this.fetchImage = imageFetcher(options);
  }

  get id(): string {
    return this.engine.id;
  }

  chat<T = unknown>(options: ChatOptions<T>): ChatStream<T> {
    return new ChatStream(this.engine, options, this.fetchImage);
  }

  /** Refuses new chats; answers in flight go on. */
  close(): Promise<void> {
    return this.engine.close();
  }
}

/** A remote model at `url` (the server's origin, e.g. `http://localhost:8080`). */
export function connect(url: string, options: ConnectOptions = {}): RemoteModel {
  return new RemoteModel(url, options);
}
