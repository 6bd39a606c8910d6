/**
 * Starting and stopping a server process: open (and migrate) the store, close the ledger rows a crash of this
 * replica left open, load the engine (or point at an upstream), listen, hold this replica's lease (which also
 * closes the rows of any replica that died), and shut down gracefully — stop taking requests, let in-flight
 * ones finish within the grace period, cancel the rest, retire the lease, then close the store.
 */
import type { ServerResponse } from 'node:http';
import type { Engine } from '../engine/engine.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';
import { buildApp, type LoggerOption, type PixtralApp } from './app.js';
import { type ChatBackend, LocalChatBackend } from './chat-backend.js';
import type { ServerConfig } from './config.js';
import { ReplicaLease } from './replica-lease.js';
import { UpstreamChatBackend, type UpstreamOptions } from './upstream.js';

export interface ServeOptions {
  readonly config: ServerConfig;
  readonly host: string;
  readonly port: number;
  /** What generates (exactly one): a ready backend, a loaded engine (run in-process), or an upstream. */
  readonly backend?: ChatBackend;
  readonly engine?: Engine;
  readonly upstream?: UpstreamOptions;
  /** Database URL (sqlite path / postgres://…) and the data dir for the default SQLite file. */
  readonly db?: string;
  readonly dataDir: string;
  readonly store?: Store;
  readonly logger?: LoggerOption;
}

export interface RunningServer extends PixtralApp {
  readonly url: string;
  readonly store: Store;
  readonly backend: ChatBackend;
  /** How many in-flight ledger rows from an earlier crash of this replica were closed at start. */
  readonly recovered: number;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  const store = options.store ?? (await openStore(options.db, options.dataDir));
  const recovered = await store.recoverInterrupted(config.replica);
  const backend: ChatBackend =
    options.backend ??
    (options.upstream
      ? new UpstreamChatBackend(options.upstream)
      : new LocalChatBackend(requireEngine(options.engine), config.scheduler));
  let shuttingDown = false;
  const built = buildApp({
    config,
    backend,
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
      const cancelLater = setTimeout(() => void backend.close({ cancel: true }), config.shutdownGraceMs);
      try {
        await Promise.all([built.app.close(), backend.close()]);
      } finally {
        clearTimeout(cancelLater);
        await lease.stop();
        await store.close();
      }
    })());
  return { ...built, url: address.replace('[::1]', 'localhost'), store, backend, recovered, close };
}

function requireEngine(engine: Engine | undefined): Engine {
  if (!engine) throw new Error('startServer needs a backend, an engine or an upstream');
  return engine;
}
