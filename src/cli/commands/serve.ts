/**
 * `pixtral serve`: the Mistral-compatible HTTP API on a local model (or in front of an upstream engine), with
 * API keys, metering and free-tier limits stored in SQLite (default) or PostgreSQL (--db postgres://…).
 */
import { defaultServerConfig, DEFAULT_LIMITS } from '../../server/config.js';
import { startServer } from '../../server/serve.js';
import { WorkerChatBackend } from '../../server/worker-chat-backend.js';
import { parseCommandArgs } from '../args.js';
import { BACKEND_OPTIONS, backendSpec, kvCacheOption } from '../backend-options.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { numberOption } from '../options.js';
import { STORE_OPTIONS, storeLocation } from '../store-options.js';

const OPTIONS = {
  model: { type: 'string' },
  'model-name': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  ...STORE_OPTIONS,
  'no-auth': { type: 'boolean' },
  upstream: { type: 'string' },
  'upstream-model': { type: 'string' },
  context: { type: 'string' },
  'max-batch': { type: 'string' },
  'max-queue': { type: 'string' },
  'free-rpm': { type: 'string' },
  'free-tpm': { type: 'string' },
  'free-monthly-tokens': { type: 'string' },
  'price-input': { type: 'string' },
  'price-output': { type: 'string' },
  'allow-private-image-urls': { type: 'boolean' },
  replica: { type: 'string' },
  'log-level': { type: 'string' },
  ...BACKEND_OPTIONS,
} as const;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(argv, OPTIONS, { min: 0, max: 0, names: '' });
  if (values.model && values.upstream) throw new UsageError('use either --model or --upstream, not both');
  const location = values.model ?? 'builtin:tiny';
  const maxContext = numberOption(values.context, 'context', 131072, 2, 131072);
  const count = (name: keyof typeof values, fallback: number | null) =>
    values[name] === undefined
      ? fallback
      : numberOption(values[name] as string, name, 0, 0, Number.MAX_SAFE_INTEGER);
  const free = DEFAULT_LIMITS.free;
  const config = defaultServerConfig({
    modelName: values['model-name'] ?? (values.upstream ? 'pixtral-12b-2409' : modelNameOf(location)),
    modelAliases: ['pixtral-12b', 'pixtral-12b-latest', 'pixtral'],
    auth: !values['no-auth'],
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
    },
    images: {
      maxBytes: 10 * 1024 * 1024,
      timeoutMs: 10_000,
      allowPrivate: values['allow-private-image-urls'] ?? false,
    },
    scheduler: {
      maxBatch: numberOption(values['max-batch'], 'max-batch', 8, 1, 256),
      maxQueue: numberOption(values['max-queue'], 'max-queue', 64, 0, 100_000),
    },
    ...(values.replica && { replica: values.replica }),
  });

  // The model runs in an engine worker thread so HTTP stays responsive during forward passes.
  let backend: WorkerChatBackend | undefined;
  if (!values.upstream) {
    io.err(`pixtral serve: loading ${location} in the engine worker…`);
    backend = await WorkerChatBackend.start(location, {
      maxContext,
      scheduler: config.scheduler,
      backend: backendSpec(values),
      ...(values['kv-cache'] && { kvCache: kvCacheOption(values['kv-cache']) }),
    });
  }
  const server = await startServer({
    config,
    host: values.host ?? '127.0.0.1',
    port: numberOption(values.port, 'port', 8000, 0, 65535),
    ...(backend && { backend }),
    ...(values.upstream && {
      upstream: {
        url: values.upstream,
        model: values['upstream-model'] ?? config.modelName,
        ...(process.env.PIXTRAL_UPSTREAM_KEY && { apiKey: process.env.PIXTRAL_UPSTREAM_KEY }),
        maxContext,
      },
    }),
    ...storeLocation(values),
    logger: { level: values['log-level'] ?? 'info' },
  });
  if (!config.auth)
    io.err('pixtral serve: --no-auth: every request is served without an API key (local use only)');
  io.err(`pixtral serve: ${config.modelName} on ${server.url} (${server.backend.description}); Ctrl-C stops`);

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

function modelNameOf(location: string): string {
  return location === 'builtin:tiny' ? 'pixtral-tiny-random' : 'pixtral-12b-2409';
}
