/** Starts a real server on loopback with the fixture model and a throwaway SQLite store. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { defaultServerConfig, type ServerConfig } from '../../src/server/config.js';
import type { LoggerOption } from '../../src/server/app.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { UpstreamEngine } from '../../src/server/upstream.js';
import type { Store } from '../../src/store/types.js';
import { fixturePath, loadGoldens } from './fixtures.js';

let engine: Engine | undefined;

/** The fixture model (consolidated layout) in this thread, loaded once per test process (never closed). */
export function fixtureEngine(): Engine {
  engine ??= Engine.load(fixtureLocation());
  return engine;
}

export const fixtureLocation = () => fixturePath(loadGoldens().model.consolidated);

export const MODEL = 'pixtral-fixture';

export interface TestServer extends RunningServer {
  readonly dataDir: string;
  /** A key of the given tier created in this server's store. */
  key(tier?: 'free' | 'paid'): Promise<string>;
  stop(): Promise<void>;
}

export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: {
    store?: Store;
    db?: string;
    upstream?: { url: string; model: string };
    /** Options of the fixture engine this server loads (each server has its own and closes it). */
    engine?: EngineOptions;
    /** Another model than the fixture (a folder), served under the same name. */
    location?: string;
    logger?: LoggerOption;
  } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pixtral-server-'));
  const config = defaultServerConfig({ modelName: MODEL, modelAliases: ['pixtral'], ...overrides });
  let server: RunningServer;
  try {
    server = await startServer({
      config,
      host: '127.0.0.1',
      port: 0,
      engine: options.upstream
        ? new UpstreamEngine(options.upstream)
        : Engine.load(options.location ?? fixtureLocation(), options.engine ?? {}),
      dataDir,
      ...(options.db && { db: options.db }),
      ...(options.store && { store: options.store }),
      logger: options.logger ?? false,
    });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true }); // the model did not load, or the port or store failed
    throw err;
  }
  return {
    ...server,
    dataDir,
    key: async (tier = 'paid') => (await server.store.createKey(`test-${tier}`, tier)).secret,
    stop: async () => {
      try {
        await server.close();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
