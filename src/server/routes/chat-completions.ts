/**
 * POST /v1/chat/completions: parse → prepare → meter → generate → format.
 *   parse:    the body is read once, into a typed CompletionRequest (422 listing every problem), then the
 *             model name is checked (400);
 *   prepare:  the engine renders the prompt, fetches images safely and fixes the answer budget (400 when the
 *             prompt does not fit the context);
 *   meter:    admission and the ledger row (429 over a limit);
 *   generate: `n` choices on the engine;
 *   format:   one JSON object, or Server-Sent Events.
 * The ledger row is closed exactly once, whatever happened: completed, cancelled (the client went away: billed
 * for what was generated) or failed (not billed).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { validateCompletionRequest } from '../../chat/completion-request.js';
import type { EngineClient } from '../../engine/engine.js';
import type { ImageFetcher, Prompt } from '../../engine/prepare.js';
import type { GenerationEvent } from '../../generate/sequence.js';
import {
  chunkBody,
  completionBody,
  completionId,
  toolCallDelta,
  unixSeconds,
  type ChoiceResult,
} from '../completion-format.js';
import type { ServerConfig } from '../config.js';
import { ApiError, toApiError } from '../errors.js';
import type { Metering, OpenRequest } from '../metering.js';
import type { ServerMetrics } from '../metrics.js';
import { SseWriter } from '../sse.js';

export interface ChatRouteDeps {
  readonly engine: EngineClient;
  readonly metering: Metering;
  readonly config: ServerConfig;
  readonly metrics: ServerMetrics;
  readonly fetchImage: ImageFetcher;
}

const ROUTE = '/v1/chat/completions';
/** The status nginx made common for "the client closed the connection before the answer": ledger and metrics. */
const CLIENT_CLOSED = 499;

type Done = Extract<GenerationEvent, { type: 'done' }>;

export function registerChatCompletions(app: FastifyInstance, deps: ChatRouteDeps): void {
  app.post(ROUTE, (request, reply) => handle(request, reply, deps));
}

function checkModel(model: string | null, config: ServerConfig): void {
  if (model !== null && model !== config.modelName && !config.modelAliases.includes(model))
    throw new ApiError(
      400,
      `Invalid model: ${model.slice(0, 100)}`,
      'invalid_request_error',
      'invalid_model',
    );
}

async function handle(request: FastifyRequest, reply: FastifyReply, deps: ChatRouteDeps) {
  const { engine, metering, config } = deps;
  // A client that goes away — even while its prompt is prepared or admitted — cancels the work; the ledger
  // bills what was generated until then.
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGoneError());
  });

  const completion = validateCompletionRequest(request.body, {
    maxChoices: config.maxChoices,
    requireModel: true,
  });
  checkModel(completion.model, config);
  const prompt = await engine.prepare(completion, deps.fetchImage);
  const ledger = await metering.open(request.apiKey, config.modelName, prompt.ids.length);
  const ctx = new RequestContext(request, reply, deps, prompt, ledger, controller);
  if (controller.signal.aborted) return ctx.clientGone();
  deps.metrics.tokens.inc({ kind: 'prompt' }, prompt.ids.length);

  let streams: AsyncIterable<GenerationEvent>[];
  try {
    // One key's cached image features never serve another key (nor time its requests).
    const scope = request.apiKey ? `key:${request.apiKey.id}` : 'anonymous';
    streams = engine.generateChoices(prompt, completion.n, { signal: controller.signal, scope });
  } catch (err) {
    // Refused before any work (overloaded, shutting down): recorded, not billed.
    throw await ctx.failed(err);
  }
  return completion.stream ? streamChoices(streams, ctx) : collectChoices(streams, ctx);
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** One admitted request: its prompt, ledger row and progress, and the three ways it can end. */
class RequestContext {
  readonly id = completionId();
  readonly created = unixSeconds();
  /** Completion tokens generated so far per choice (what a cancelled request is billed for). */
  private readonly tokens: number[];
  private firstTokenAt: number | null = null;
  /** Prompt tokens as the generator counted them (an upstream engine reports its own). */
  promptTokens: number;
  /**
   * Of them, those served from the prefix cache (the same for every choice: they share the prompt). They come
   * with the final usage, so a request cancelled before it is billed its prompt at the plain input price.
   */
  cachedTokens = 0;

  constructor(
    readonly request: FastifyRequest,
    readonly reply: FastifyReply,
    readonly deps: ChatRouteDeps,
    readonly prompt: Prompt,
    readonly ledger: OpenRequest,
    readonly controller: AbortController,
  ) {
    this.tokens = new Array<number>(prompt.request.n).fill(0);
    this.promptTokens = prompt.ids.length;
  }

  see(choice: number, event: GenerationEvent): void {
    this.firstTokenAt ??= performance.now();
    if (event.type === 'text') this.tokens[choice] = event.completionTokens;
    else {
      this.tokens[choice] = event.usage.completionTokens;
      this.promptTokens = event.usage.promptTokens;
      this.cachedTokens = event.usage.cachedTokens ?? 0;
    }
  }

  get completionTokens(): number {
    return this.tokens.reduce((a, b) => a + b, 0);
  }

  get usage() {
    return {
      promptTokens: this.promptTokens,
      completionTokens: this.completionTokens,
      cachedTokens: this.cachedTokens,
    };
  }

  get gone(): boolean {
    return this.controller.signal.reason instanceof ClientGoneError;
  }

  async completed(): Promise<void> {
    await this.ledger.close('completed', this.usageTokens(), 200);
    const { metrics } = this.deps;
    metrics.tokens.inc({ kind: 'completion' }, this.completionTokens);
    if (this.firstTokenAt === null) return;
    const startedAt = performance.now() - (Date.now() - this.ledger.startedAt);
    metrics.timeToFirstToken.observe((this.firstTokenAt - startedAt) / 1000);
    const decodeSeconds = (performance.now() - this.firstTokenAt) / 1000;
    if (this.completionTokens > 1 && decodeSeconds > 0)
      metrics.decodeRate.observe((this.completionTokens - 1) / decodeSeconds);
  }

  /** The client went away: billed for what was delivered, counted as 499, nothing to answer and no error. */
  async clientGone(): Promise<void> {
    this.controller.abort();
    await this.ledger.close('cancelled', this.usageTokens(), CLIENT_CLOSED);
    this.deps.metrics.tokens.inc({ kind: 'completion' }, this.completionTokens);
    this.count(CLIENT_CLOSED);
    if (!this.reply.sent) this.reply.hijack();
  }

  /** Our side failed: not billed; returns the error to answer with. */
  async failed(err: unknown): Promise<ApiError> {
    this.controller.abort();
    const apiError = toApiError(err);
    await this.ledger.close('failed', { prompt: 0, completion: 0 }, apiError.status);
    this.deps.metrics.tokens.inc({ kind: 'completion' }, this.completionTokens);
    return apiError;
  }

  /** Streams are answered outside Fastify's reply, so the route counts them (and client-gone requests). */
  count(status: number | string): void {
    this.deps.metrics.countRequest(
      this.request,
      ROUTE,
      String(status),
      (Date.now() - this.ledger.startedAt) / 1000,
    );
  }

  private usageTokens() {
    return { prompt: this.promptTokens, completion: this.completionTokens, cached: this.cachedTokens };
  }
}

async function collectChoices(streams: AsyncIterable<GenerationEvent>[], ctx: RequestContext) {
  let results: Done[];
  try {
    results = await Promise.all(
      streams.map(async (stream, choice) => {
        let done: Done | undefined;
        for await (const event of stream) {
          ctx.see(choice, event);
          if (event.type === 'done') done = event;
        }
        if (!done) throw new Error('generation ended without a result');
        return done;
      }),
    );
  } catch (err) {
    if (ctx.gone) return ctx.clientGone();
    throw await ctx.failed(err);
  }
  await ctx.completed();
  const choices: ChoiceResult[] = results.map((r) => ({
    text: r.text,
    toolCalls: r.toolCalls,
    finishReason: r.finishReason,
    truncated: r.truncated,
  }));
  ctx.reply.headers(ctx.ledger.headers);
  return completionBody(ctx.id, ctx.created, ctx.deps.config.modelName, choices, ctx.usage);
}

async function streamChoices(streams: AsyncIterable<GenerationEvent>[], ctx: RequestContext) {
  const { id, created } = ctx;
  const model = ctx.deps.config.modelName;
  ctx.reply.hijack();
  const sse = new SseWriter(ctx.reply.raw);
  sse.start(ctx.ledger.headers);
  let unfinished = streams.length;
  const results = await Promise.allSettled(
    streams.map(async (stream, choice) => {
      sse.data(chunkBody(id, created, model, choice, { role: 'assistant', content: '' }, null));
      for await (const event of stream) {
        ctx.see(choice, event);
        if (event.type === 'text') {
          sse.data(chunkBody(id, created, model, choice, { content: event.text }, null));
          continue;
        }
        // The last choice to finish carries the usage of the whole request.
        const usage = --unfinished === 0 ? ctx.usage : undefined;
        const delta = event.toolCalls ? toolCallDelta(event.toolCalls) : { content: '' };
        sse.data(chunkBody(id, created, model, choice, delta, event.finishReason, usage, event.truncated));
      }
    }),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failure) {
    await ctx.completed();
    ctx.count(200);
  } else if (ctx.gone) return ctx.clientGone();
  else {
    sse.error((await ctx.failed(failure.reason)).body());
    ctx.count('stream_error');
  }
  sse.done();
}
