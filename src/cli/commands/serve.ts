/**
 * `pixtral serve`: the Mistral-compatible HTTP API on a local model (or in front of an upstream engine), with
 * API keys, metering and free-tier limits stored in SQLite (default) or PostgreSQL (--db postgres://…).
 */
import { Engine, type EngineClient } from '../../engine/engine.js';
import { PIXTRAL_12B_ALIASES, PIXTRAL_12B_NAME } from '../../engine/model-source.js';
import { DEFAULT_MAX_BATCH, DEFAULT_MAX_QUEUE } from '../../engine/scheduler.js';
import { defaultServerConfig, DEFAULT_LIMITS } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { UpstreamEngine } from '../../server/upstream.js';
import { parseCommandArgs } from '../args.js';
import { BACKEND_OPTIONS, engineOptions } from '../backend-options.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { formatBytes } from '../format.js';
import { numberOption } from '../options.js';
import { fitModel } from '../fit-model.js';
import { MODEL_OPTIONS, modelOrDemo, resolveModelOption } from '../model-option.js';
import { STORE_OPTIONS, storeLocation } from '../store-options.js';

const OPTIONS = {
  model: { type: 'string' },
  'model-name': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  ...STORE_OPTIONS,
  'no-auth': { type: 'boolean' },
  'no-playground': { type: 'boolean' },
  upstream: { type: 'string' },
  'upstream-model': { type: 'string' },
  'max-batch': { type: 'string' },
  'max-queue': { type: 'string' },
  'cache-size': { type: 'string' },
  'free-rpm': { type: 'string' },
  'free-tpm': { type: 'string' },
  'free-monthly-tokens': { type: 'string' },
  'price-input': { type: 'string' },
  'price-output': { type: 'string' },
  'price-cached': { type: 'string' },
  'allow-private-image-urls': { type: 'boolean' },
  replica: { type: 'string' },
  'log-level': { type: 'string' },
  ...BACKEND_OPTIONS,
  ...MODEL_OPTIONS,
} as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS, { min: 0, max: 0, names: '' });
  if (values.model && values.upstream) throw new UsageError('use either --model or --upstream, not both');
  // Resolved here: the engine worker only ever receives a local location.
  const model = values.upstream
    ? null
    : await fitModel(await resolveModelOption(modelOrDemo(values.model, io), values, io), values.quant, io);
  const options = engineOptions(
    { ...values, quant: model?.quant },
    {
      maxBatch: numberOption(values['max-batch'], 'max-batch', DEFAULT_MAX_BATCH, 1, 256),
      maxQueue: numberOption(values['max-queue'], 'max-queue', DEFAULT_MAX_QUEUE, 0, 100_000),
      // Unset: the engine takes a quarter of the memory left after the weights (printed below).
      ...(values['cache-size'] !== undefined && {
        cacheBytes: Math.floor(
          numberOption(values['cache-size'], 'cache-size', 0, 0, Number.MAX_SAFE_INTEGER),
        ),
      }),
    },
  );
  // The model runs in an engine worker thread so HTTP stays responsive during forward passes.
  let engine: EngineClient;
  if (values.upstream) {
    engine = new UpstreamEngine({
      url: values.upstream,
      model: values['upstream-model'] ?? values['model-name'] ?? PIXTRAL_12B_NAME,
      ...(process.env.PIXTRAL_UPSTREAM_KEY && { apiKey: process.env.PIXTRAL_UPSTREAM_KEY }),
      ...(options.maxContext !== undefined && { maxContext: options.maxContext }),
    });
  } else {
    io.err(`pixtral serve: loading ${model!.location} in the engine worker…`);
    engine = await Engine.inWorker(model!.location, options);
    const { cacheBytes, speculation } = engine.settings!;
    io.err(
      `pixtral serve: image-feature and prefix caches of ${formatBytes(cacheBytes)} per process (--cache-size BYTES); ` +
        `prompt-lookup decoding ${speculation ? 'on (--no-speculation to turn it off)' : 'off'}`,
    );
  }
  const count = (name: keyof typeof values, fallback: number | null) =>
    values[name] === undefined
      ? fallback
      : numberOption(values[name] as string, name, 0, 0, Number.MAX_SAFE_INTEGER);
  const free = DEFAULT_LIMITS.free;
  const modelName = values['model-name'] ?? engine.id;
  const config = defaultServerConfig({
    modelName,
    // The 12B's short names only for the 12B itself: a demo or test model never answers to them.
    modelAliases: modelName === PIXTRAL_12B_NAME ? PIXTRAL_12B_ALIASES : [],
    auth: !values['no-auth'],
    playground: !values['no-playground'],
    limits: {
      ...DEFAULT_LIMITS,
      free: {
        requestsPerMinute: count('free-rpm', free.requestsPerMinute),
        tokensPerMinute: count('free-tpm', free.tokensPerMinute),
        monthlyTokens: count('free-monthly-tokens', free.monthlyTokens),
      },
    },
    prices: {
      inputPerMillion: numberOption(values['price-input'], 'price-input', 0.25, 0, 1e6),
      outputPerMillion: numberOption(values['price-output'], 'price-output', 1.25, 0, 1e6),
      ...(values['price-cached'] !== undefined && {
        cachedInputPerMillion: numberOption(values['price-cached'], 'price-cached', 0, 0, 1e6),
      }),
    },
    images: {
      maxBytes: 10 * 1024 * 1024,
      timeoutMs: 10_000,
      allowPrivate: values['allow-private-image-urls'] ?? false,
    },
    ...(values.replica && { replica: values.replica }),
  });

  const server = await startServer({
    config,
    host: values.host ?? '127.0.0.1',
    port: numberOption(values.port, 'port', 8000, 0, 65535),
    engine,
    ...storeLocation(values),
    logger: { level: values['log-level'] ?? 'info' },
  });
  if (!config.auth)
    io.err('pixtral serve: --no-auth: every request is served without an API key (local use only)');
  io.err(`pixtral serve: ${config.modelName} on ${server.url} (${server.engine.description}); Ctrl-C stops`);
  if (config.playground) io.err(`pixtral serve: playground at ${server.url}/`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.err('pixtral serve: shutting down: finishing in-flight requests');
      void server.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
