/**
 * The Fastify application: JSON parsing that keeps tool schemas byte-exact (Python-style JSON), auth, the
 * Mistral-compatible routes, Mistral-shaped errors for everything (including Fastify's own 404/413), metrics
 * per response, and logs that never carry keys, prompts or image data.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { parsePyJson } from '../chat/pyjson.js';
import type { EngineClient } from '../engine/engine.js';
import type { Store } from '../store/types.js';
import { registerAuth } from './auth.js';
import type { ServerConfig } from './config.js';
import { ApiError, notFound, toApiError } from './errors.js';
import { Metering } from './metering.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { ServerMetrics } from './metrics.js';
import { remoteImageFetcher } from './remote-images.js';
import { registerChatCompletions } from './routes/chat-completions.js';
import { registerModels } from './routes/models.js';
import { registerOps } from './routes/ops.js';
import { registerPlayground } from './routes/playground.js';
import { registerUsage } from './routes/usage.js';

/** pino options (level, and optionally where the lines go), or false for silence (tests). */
export type LoggerOption = boolean | { level: string; stream?: { write(line: string): void } };

export interface AppDeps {
  readonly config: ServerConfig;
  readonly engine: EngineClient;
  readonly store: Store;
  readonly logger?: LoggerOption;
  readonly isShuttingDown?: () => boolean;
}

export interface PixtralApp {
  readonly app: FastifyInstance;
  readonly metrics: ServerMetrics;
}

export function buildApp(deps: AppDeps): PixtralApp {
  const { config, engine, store } = deps;
  const isShuttingDown = deps.isShuttingDown ?? (() => false);
  const logger =
    deps.logger === undefined || deps.logger === false
      ? false
      : {
          ...(typeof deps.logger === 'object' ? deps.logger : { level: 'info' }),
          redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
        };
  // return503OnClosing is ours (below), so that the refusal is Mistral-shaped too.
  const app = Fastify({ logger, bodyLimit: config.bodyLimitBytes, return503OnClosing: false });
  const metrics = new ServerMetrics(() => engine.stats());
  const metering = new Metering(store, config);

  // Only JSON bodies are accepted: any other content type (text/plain, forms) is a 415, never a body dropped
  // on the floor and reported as missing fields.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, parsePyJson(text as string));
    } catch (err) {
      done(
        new ApiError(
          400,
          `Invalid JSON body: ${(err as Error).message}`,
          'invalid_request_error',
          'invalid_json',
        ),
      );
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500 && apiError.code === 'internal_error')
      request.log.error({ err }, 'request failed');
    reply.code(apiError.status).headers(apiError.headers).send(apiError.body());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = notFound(`No route for ${request.method} ${request.url.split('?')[0]}`);
    reply.code(404).send(error.body());
  });
  app.addHook('onRequest', async (request) => {
    // A request that still reaches a closing server (on a busy keep-alive connection) is refused; /health
    // answers for itself, so load balancers see why.
    if (isShuttingDown() && request.routeOptions.url !== '/health')
      throw new ApiError(503, 'the server is shutting down', 'service_unavailable', 'shutting_down');
  });
  app.addHook('onSend', async (request, reply) => {
    // Rate-limit headers on every authenticated response, errors included — unless the route already set them
    // (any of them: a tier may limit only tokens, so there is no requests header to look for).
    const alreadySet = Object.keys(reply.getHeaders()).some((name) => name.startsWith('x-ratelimit-'));
    if (request.apiKey && !alreadySet) {
      const state = await metering.limitState(request.apiKey);
      if (state) reply.headers(rateLimitHeaders(state));
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    // Routes that answer outside Fastify's reply (streams, clients that left) have counted themselves.
    const route = request.routeOptions.url ?? 'unknown';
    metrics.countResponse(request, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  registerAuth(app, store, config.auth);
  registerChatCompletions(app, {
    engine,
    metering,
    config,
    metrics,
    fetchImage: remoteImageFetcher(config.images),
  });
  registerModels(app, config, engine);
  registerUsage(app, store, metering);
  registerOps(app, config, engine, metrics, isShuttingDown);
  registerPlayground(app, config, engine);
  return { app, metrics };
}
