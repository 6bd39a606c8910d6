/**
 * Starting and stopping a server process: open (and migrate) the store, close the ledger rows a crash of this
 * replica left open, load the engine (or point at an upstream), listen, hold this replica's lease (which also
 * closes the rows of any replica that died), and shut down gracefully — stop taking requests, let in-flight
 * ones finish within the grace period, cancel the rest, retire the lease, then close the store.
 */
import type { ServerResponse } from 'node:http';
import type { EngineClient } from '../engine/engine.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import { buildApp, type LoggerOption, type PixtralApp } from './app.js';
import type { ServerConfig } from './config.js';
import { ReplicaLease } from './replica-lease.js';

export interface ServeOptions {
  readonly config: ServerConfig;
  readonly host: string;
  readonly port: number;
  /** What generates: a local engine (this thread or its worker) or an upstream; the server closes it. */
  readonly engine: EngineClient;
  /** Database URL (sqlite path / postgres://…) and the data dir for the default SQLite file. */
  readonly db?: string;
  readonly dataDir: string;
  readonly store?: Store;
  readonly logger?: LoggerOption;
}

export interface RunningServer extends PixtralApp {
  readonly url: string;
  readonly store: Store;
  readonly engine: EngineClient;
  /** How many in-flight ledger rows from an earlier crash of this replica were closed at start. */
  readonly recovered: number;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  const store = options.store ?? (await openStore(options.db, options.dataDir));
  const recovered = await store.recoverInterrupted(config.replica);
  const { engine } = options;
  let shuttingDown = false;
  const built = buildApp({
    config,
    engine,
    store,
    ...(options.logger !== undefined && { logger: options.logger }),
    isShuttingDown: () => shuttingDown,
  });
  // Fastify's close frees the keep-alive connections idle at that moment; one whose response finishes during the
  // drain would then hold the close open until its client hangs up (or the 72 s keep-alive timeout): free it too.
  built.app.server.on('request', (_request, response: ServerResponse) => {
    response.once('finish', () => {
      if (shuttingDown) setImmediate(() => built.app.server.closeIdleConnections());
    });
  });
  const lease = new ReplicaLease(store, config.replica, config.replicaLease, built.app.log);
  const address = await built.app.listen({ host: options.host, port: options.port });
  if (recovered > 0)
    built.app.log.warn({ recovered }, 'closed ledger rows left in progress by an earlier crash');
  await lease.start();

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      const cancelLater = setTimeout(() => void engine.close({ cancel: true }), config.shutdownGraceMs);
      try {
        await Promise.all([built.app.close(), engine.close()]);
      } finally {
        clearTimeout(cancelLater);
        await lease.stop();
        await store.close();
      }
    })());
  return { ...built, url: address.replace('[::1]', 'localhost'), store, engine, recovered, close };
}
