/**
 * Races admissions from several threads, each with its own SqliteStore connection on one file — the closest
 * in-process stand-in for several server processes sharing a database (better-sqlite3 is synchronous, so two
 * stores on the main thread could never actually overlap).
 */
import { Worker } from 'node:worker_threads';

export interface ThreadRace {
  readonly path: string;
  readonly keyId: string;
  readonly now: number;
  readonly requestsPerMinute: number;
  readonly threads: number;
  readonly perThread: number;
}

/** Each thread opens and migrates its store, waits at a barrier for the others, then admits in a loop. */
const WORKER_SOURCE = `
const { workerData: d, parentPort } = require('node:worker_threads');
import(d.module).then(async ({ SqliteStore }) => {
  const store = new SqliteStore(d.path);
  await store.migrate();
  Atomics.add(d.barrier, 0, 1);
  Atomics.notify(d.barrier, 0);
  for (let seen; (seen = Atomics.load(d.barrier, 0)) < d.threads; ) Atomics.wait(d.barrier, 0, seen, 100);
  const limits = { requestsPerMinute: d.requestsPerMinute, tokensPerMinute: null, monthlyTokens: null };
  let allowed = 0;
  for (let i = 0; i < d.perThread; i++) {
    const a = await store.admit({ keyId: d.keyId, model: 'm', promptTokens: 1, replica: 'w' }, limits, d.now);
    if (a.allowed) allowed++;
  }
  await store.close();
  parentPort.postMessage(allowed);
});
`;

/** How many admissions were allowed in total across all threads. */
export async function admitInThreads(race: ThreadRace): Promise<number> {
  const module = new URL('../../src/store/index.js', import.meta.url).href;
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const runs = Array.from(
    { length: race.threads },
    () =>
      new Promise<number>((resolve, reject) => {
        const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ...race, module, barrier } });
        worker.once('message', resolve).once('error', reject);
      }),
  );
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}
