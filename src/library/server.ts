/**
 * `createServer`: the Mistral-compatible API (chat completions, models, usage, health, metrics) as a Fastify
 * app that an existing service listens with, injects into, or mounts — the same app `pixtral serve` runs,
 * without the process around it (no port, no replica lease, no signal handling).
 */
import { tmpdir } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../engine/engine.js';
import { PIXTRAL_12B_ALIASES, PIXTRAL_12B_NAME } from '../engine/model-source.js';
import { buildApp, type LoggerOption } from '../server/app.js';
import { defaultServerConfig } from '../server/config.js';
import { openStore } from '../store/open-store.js';
import { DEFAULT_MODEL, engineOf, type LoadOptions, loadModel, Model } from './model.js';

/** Without `db`, keys, quotas and the ledger live in memory and go with the app. */
export const DEFAULT_SERVER_DB = 'sqlite::memory:';

export interface ServerOptions {
  /** A loaded model (the app never closes it), or a name to load in an engine worker (closed with the app). */
  readonly model?: Model | string;
  /** How to load `model` when it is a name (`worker` is always on: requests never wait for a forward pass). */
  readonly load?: Omit<LoadOptions, 'worker' | 'onProgress'>;
  /** The name clients send and /v1/models lists (default: the model's id). */
  readonly modelName?: string;
  /**
   * Require Pixtral TS API keys (default false: the service embedding the app authenticates its callers).
   * Keys live in `db`: create them with `pixtral keys create --db URL`.
   */
  readonly auth?: boolean;
  /** Store for keys, quotas and the usage ledger: a SQLite path, `sqlite:PATH` or `postgres://…`. */
  readonly db?: string;
  /** pino options, or false (default) for no request logs. */
  readonly logger?: LoggerOption;
}

export async function createServer(options: ServerOptions = {}): Promise<FastifyInstance> {
  const named = typeof options.model === 'string' ? options.model : DEFAULT_MODEL;
  const given = options.model instanceof Model ? options.model : null;
  const model = given ?? (await loadModel(named, { ...options.load, worker: true }));
  const engine: EngineClient = engineOf(model);
  const store = await openStore(options.db ?? DEFAULT_SERVER_DB, tmpdir()).catch(async (err) => {
    if (!given) await model.close();
    throw err;
  });
  const modelName = options.modelName ?? model.id;
  const config = defaultServerConfig({
    modelName,
    // The 12B's short names only for the 12B itself (as `pixtral serve` does).
    modelAliases: modelName === PIXTRAL_12B_NAME ? PIXTRAL_12B_ALIASES : [],
    auth: options.auth ?? false,
  });
  const { app } = buildApp({ config, engine, store, logger: options.logger ?? false });
  app.addHook('onClose', async () => {
    if (!given) await model.close();
    await store.close();
  });
  return app;
}
