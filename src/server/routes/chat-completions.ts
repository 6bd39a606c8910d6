/**
 * POST /v1/chat/completions: validate → tokenize (images fetched safely) → admit and open the ledger row →
 * generate `n` choices on the scheduler → answer as one JSON object or as Server-Sent Events → close the
 * ledger row exactly once, whatever happened (finished, client gone, failure).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { field, isInt, isObj } from '../../chat/validation-error.js';
import type { ImageFetcher, PreparedPrompt } from '../../engine/prepare.js';
import type { GenerationEvent } from '../../generate/sequence.js';
import type { ChatBackend } from '../chat-backend.js';
import {
  chunkBody,
  completionBody,
  completionId,
  toolCallDelta,
  unixSeconds,
  type ChoiceResult,
} from '../completion-format.js';
import type { ServerConfig } from '../config.js';
import { ApiError, invalidField, toApiError } from '../errors.js';
import { generateOptions } from '../generation-options.js';
import type { Metering, OpenRequest } from '../metering.js';
import type { ServerMetrics } from '../metrics.js';
import { SseWriter } from '../sse.js';

export interface ChatRouteDeps {
  readonly backend: ChatBackend;
  readonly metering: Metering;
  readonly config: ServerConfig;
  readonly metrics: ServerMetrics;
  readonly fetchImage: ImageFetcher;
}

type Done = Extract<GenerationEvent, { type: 'done' }>;

/** Completion tokens generated so far per choice (what a cancelled or failed request is billed for). */
class Progress {
  readonly tokens: number[];
  firstTokenAt: number | null = null;
  constructor(n: number) {
    this.tokens = new Array<number>(n).fill(0);
  }
  see(choice: number, event: GenerationEvent): void {
    this.firstTokenAt ??= performance.now();
    this.tokens[choice] = event.type === 'text' ? event.completionTokens : event.usage.completionTokens;
  }
  get total(): number {
    return this.tokens.reduce((a, b) => a + b, 0);
  }
}

export function registerChatCompletions(app: FastifyInstance, deps: ChatRouteDeps): void {
  app.post('/v1/chat/completions', (request, reply) => handle(request, reply, deps));
}

function checkModel(body: unknown, config: ServerConfig): void {
  const model = isObj(body) ? field(body, 'model') : undefined;
  if (model === undefined || model === null)
    throw invalidField(['body', 'model'], 'Field required', 'missing');
  if (typeof model !== 'string')
    throw invalidField(['body', 'model'], 'Input should be a valid string', 'string_type');
  if (model !== config.modelName && !config.modelAliases.includes(model))
    throw new ApiError(
      400,
      `Invalid model: ${model.slice(0, 100)}`,
      'invalid_request_error',
      'invalid_model',
    );
}

/** `random_seed` (Mistral) or `seed` (OpenAI clients). */
function seedOf(body: unknown, randomSeed: number | null | undefined): number | undefined {
  if (typeof randomSeed === 'number') return randomSeed;
  const seed = isObj(body) ? field(body, 'seed') : undefined;
  if (seed === undefined || seed === null) return undefined;
  if (!isInt(seed) || Number(seed) < 0)
    throw invalidField(['body', 'seed'], 'Input should be a non-negative integer', 'int_type');
  return Number(seed);
}

/** `parallel_tool_calls` (Mistral and OpenAI): false allows one call per answer. */
function parallelToolCalls(body: unknown): boolean {
  const value = isObj(body) ? field(body, 'parallel_tool_calls') : undefined;
  if (value === undefined || value === null) return true;
  if (typeof value !== 'boolean')
    throw invalidField(['body', 'parallel_tool_calls'], 'Input should be a valid boolean', 'bool_type');
  return value;
}

async function handle(request: FastifyRequest, reply: FastifyReply, deps: ChatRouteDeps) {
  const { backend, metering, config, metrics } = deps;
  checkModel(request.body, config);
  const prompt = await backend.prepare(request.body, deps.fetchImage);
  const n = prompt.request.n ?? 1;
  if (n > config.maxChoices)
    throw invalidField(
      ['body', 'n'],
      `Input should be less than or equal to ${config.maxChoices}`,
      'less_than_equal',
    );
  const seed = seedOf(request.body, prompt.request.random_seed);
  const controller = new AbortController();
  // Built (and its output schemas checked) before anything is billed.
  const options = generateOptions(prompt.request, seed, controller.signal, parallelToolCalls(request.body));
  const ledger = await metering.open(request.apiKey, config.modelName, prompt.ids.length);
  metrics.tokens.inc({ kind: 'prompt' }, prompt.ids.length);

  const progress = new Progress(n);
  let streams: AsyncIterable<GenerationEvent>[];
  try {
    // Each choice samples with its own seed so n choices differ but stay reproducible.
    streams = Array.from({ length: n }, (_, i) =>
      backend.generate(
        prompt,
        seed === undefined ? options : { ...options, sampling: { ...options.sampling, seed: seed + i } },
      ),
    );
  } catch (err) {
    controller.abort();
    const apiError = toApiError(err);
    await ledger.close('failed', { prompt: prompt.ids.length, completion: 0 }, apiError.status);
    throw apiError;
  }
  // A client that goes away cancels generation; the ledger bills what was generated until then.
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGoneError());
  });
  const context = { prompt, ledger, progress, controller, deps, id: completionId(), created: unixSeconds() };
  if (prompt.request.stream) return streamChoices(reply, streams, context);
  return collectChoices(reply, streams, context);
}

class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

interface Context {
  readonly prompt: PreparedPrompt;
  readonly ledger: OpenRequest;
  readonly progress: Progress;
  readonly controller: AbortController;
  readonly deps: ChatRouteDeps;
  readonly id: string;
  readonly created: number;
}

async function collectChoices(reply: FastifyReply, streams: AsyncIterable<GenerationEvent>[], ctx: Context) {
  const { ledger, progress, prompt } = ctx;
  let results: Done[];
  try {
    results = await Promise.all(
      streams.map(async (stream, choice) => {
        let done: Done | undefined;
        for await (const event of stream) {
          progress.see(choice, event);
          if (event.type === 'done') done = event;
        }
        if (!done) throw new Error('generation ended without a result');
        return done;
      }),
    );
  } catch (err) {
    await closeAfterFailure(ctx, err);
    throw toApiError(err);
  }
  const usage = { promptTokens: prompt.ids.length, completionTokens: progress.total };
  await ledger.close('completed', { prompt: usage.promptTokens, completion: usage.completionTokens }, 200);
  observe(ctx, usage.completionTokens);
  const choices: ChoiceResult[] = results.map((r) => ({
    text: r.text,
    toolCalls: r.toolCalls,
    finishReason: r.finishReason,
  }));
  reply.headers(ledger.headers);
  return completionBody(ctx.id, ctx.created, ctx.deps.config.modelName, choices, usage);
}

async function streamChoices(reply: FastifyReply, streams: AsyncIterable<GenerationEvent>[], ctx: Context) {
  const { ledger, progress, prompt, id, created } = ctx;
  const model = ctx.deps.config.modelName;
  reply.hijack();
  const sse = new SseWriter(reply.raw);
  sse.start(ledger.headers);
  let unfinished = streams.length;
  const results = await Promise.allSettled(
    streams.map(async (stream, choice) => {
      sse.data(chunkBody(id, created, model, choice, { role: 'assistant', content: '' }, null));
      for await (const event of stream) {
        progress.see(choice, event);
        if (event.type === 'text') {
          sse.data(chunkBody(id, created, model, choice, { content: event.text }, null));
          continue;
        }
        // The last choice to finish carries the usage of the whole request.
        const usage =
          --unfinished === 0
            ? { promptTokens: prompt.ids.length, completionTokens: progress.total }
            : undefined;
        const delta = event.toolCalls ? toolCallDelta(event.toolCalls) : { content: '' };
        sse.data(chunkBody(id, created, model, choice, delta, event.finishReason, usage));
      }
    }),
  );
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await closeAfterFailure(ctx, failure.reason);
    sse.error(toApiError(failure.reason).body());
  } else {
    await ledger.close('completed', { prompt: prompt.ids.length, completion: progress.total }, 200);
    observe(ctx, progress.total);
  }
  sse.done();
  ctx.deps.metrics.requests.inc({ route: '/v1/chat/completions', status: failure ? 'stream_error' : '200' });
  ctx.deps.metrics.latency.observe({ route: '/v1/chat/completions' }, (Date.now() - ledger.startedAt) / 1000);
}

async function closeAfterFailure(ctx: Context, err: unknown) {
  ctx.controller.abort();
  const gone = ctx.controller.signal.reason instanceof ClientGoneError || err instanceof ClientGoneError;
  const tokens = { prompt: ctx.prompt.ids.length, completion: ctx.progress.total };
  await ctx.ledger.close(gone ? 'cancelled' : 'failed', tokens, gone ? 499 : toApiError(err).status);
  ctx.deps.metrics.tokens.inc({ kind: 'completion' }, ctx.progress.total);
}

function observe(ctx: Context, completionTokens: number) {
  const { metrics } = ctx.deps;
  metrics.tokens.inc({ kind: 'completion' }, completionTokens);
  const first = ctx.progress.firstTokenAt;
  if (first === null) return;
  const startedAt = performance.now() - (Date.now() - ctx.ledger.startedAt);
  metrics.timeToFirstToken.observe((first - startedAt) / 1000);
  const decodeSeconds = (performance.now() - first) / 1000;
  if (completionTokens > 1 && decodeSeconds > 0)
    metrics.decodeRate.observe((completionTokens - 1) / decodeSeconds);
}
