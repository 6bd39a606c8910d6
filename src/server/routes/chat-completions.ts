/**
 * POST /v1/chat/completions: validate → tokenize (images fetched safely) → admit and open the ledger row →
 * generate `n` choices on the scheduler → answer as one JSON object or as Server-Sent Events → close the
 * ledger row exactly once, whatever happened (finished, client gone, failure).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { field, isInt, isObj } from '../../chat/validation-error.js';
import type { ImageFetcher, PreparedPrompt } from '../../engine/prepare.js';
import { answerBudget, type GenerationEvent } from '../../generate/sequence.js';
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
  /** Prompt tokens as the generator counted them (an upstream engine reports its own). */
  promptTokens: number;
  constructor(n: number, promptTokens: number) {
    this.tokens = new Array<number>(n).fill(0);
    this.promptTokens = promptTokens;
  }
  see(choice: number, event: GenerationEvent): void {
    this.firstTokenAt ??= performance.now();
    if (event.type === 'text') this.tokens[choice] = event.completionTokens;
    else {
      this.tokens[choice] = event.usage.completionTokens;
      this.promptTokens = event.usage.promptTokens;
    }
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
  // A client that goes away — even while its prompt is prepared or admitted — cancels the work; the ledger
  // bills what was generated until then.
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new ClientGoneError());
  });
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
  // Built (and its output schemas checked) before anything is billed.
  const options = generateOptions(prompt.request, seed, controller.signal, parallelToolCalls(request.body));
  answerBudget(prompt.ids.length, backend.maxContext, options.maxTokens);
  const ledger = await metering.open(request.apiKey, config.modelName, prompt.ids.length);
  if (controller.signal.aborted) {
    await ledger.close('cancelled', { prompt: 0, completion: 0 }, 499);
    reply.hijack(); // nobody to answer
    return;
  }
  metrics.tokens.inc({ kind: 'prompt' }, prompt.ids.length);

  const progress = new Progress(n, prompt.ids.length);
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
    // Refused before any work (overloaded, shutting down): recorded, not billed.
    await ledger.close('failed', { prompt: 0, completion: 0 }, apiError.status);
    throw apiError;
  }
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
  const { ledger, progress } = ctx;
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
  const usage = { promptTokens: progress.promptTokens, completionTokens: progress.total };
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
  const { ledger, progress, id, created } = ctx;
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
            ? { promptTokens: progress.promptTokens, completionTokens: progress.total }
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
    await ledger.close('completed', { prompt: progress.promptTokens, completion: progress.total }, 200);
    observe(ctx, progress.total);
  }
  sse.done();
  ctx.deps.metrics.requests.inc({ route: '/v1/chat/completions', status: failure ? 'stream_error' : '200' });
  ctx.deps.metrics.latency.observe({ route: '/v1/chat/completions' }, (Date.now() - ledger.startedAt) / 1000);
}

async function closeAfterFailure(ctx: Context, err: unknown) {
  ctx.controller.abort();
  const gone = ctx.controller.signal.reason instanceof ClientGoneError || err instanceof ClientGoneError;
  // A client that leaves pays for the work done until then; a failure on our side is not billed.
  const tokens = gone
    ? { prompt: ctx.progress.promptTokens, completion: ctx.progress.total }
    : { prompt: 0, completion: 0 };
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
