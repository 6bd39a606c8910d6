/**
 * `npm run bench -- soak [--minutes=30] [--clients=6] [--kill-every=240] [--free-rpm=6]`: mixed load on two
 * `pixtral serve` replicas sharing one PostgreSQL database (a throwaway cluster on loopback), with one replica
 * SIGKILLed and restarted (default replica id, no operator setting) every few minutes. Afterwards it checks the
 * ledger: every admitted request is exactly one row in a final state, the tokens billed for completed requests
 * equal the tokens delivered, the free key never had more than its requests per minute, and each replica's
 * peak RSS stayed within 10% of its level after the first minute. A reliability figure, run by hand.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_PRICES } from '../../store/types.js';
import { openStore } from '../../store/open-store.js';
import { createDatabase, startPostgres } from '../../../test/helpers/postgres.js';
import { killServe, spawnServe, type ServeProcess } from '../../../test/helpers/ledger.js';
import { mulberry32 } from './corpus.js';

const option = (args: string[], name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

const IMAGE = `data:image/png;base64,${readFileSync('examples/shapes.png').toString('base64')}`;
const MODEL = 'pixtral';
const TOOLS = [
  {
    type: 'function',
    function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } },
  },
];

type Kind = 'plain' | 'stream' | 'image' | 'json' | 'tools' | 'disconnect' | 'free';
const KINDS: readonly Kind[] = ['plain', 'stream', 'image', 'json', 'tools', 'disconnect', 'free', 'stream'];

interface Outcome {
  kind: Kind;
  /**
   * 200 with a full answer; 429; 'cut' (the replica died with the request in flight); 'refused' (no replica
   * listening: never admitted); 'left' (we disconnected); other statuses.
   */
  result: 'ok' | '429' | 'cut' | 'left' | string;
  completionTokens: number;
}

/** One process of a replica, from its start to its kill (or the end of the run). */
interface Lifetime {
  readonly replica: string;
  readonly startedAt: number;
  endedAt: number | null;
  rssAfterMinute: number | null;
  peakRss: number;
}

interface Replica {
  name: string;
  port: number;
  process: ServeProcess;
  life: Lifetime;
}

function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function body(kind: Kind, random: () => number): Record<string, unknown> {
  const text = `Question ${Math.floor(random() * 1e6)}: tell me about it.`;
  const base: Record<string, unknown> = {
    model: MODEL,
    messages: [{ role: 'user', content: text }],
    max_tokens: 4 + Math.floor(random() * 24),
    temperature: random() < 0.5 ? 0 : 0.8,
  };
  if (kind === 'stream' || kind === 'disconnect') base.stream = true;
  if (kind === 'image')
    base.messages = [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: IMAGE },
          { type: 'text', text },
        ],
      },
    ];
  if (kind === 'json') base.response_format = { type: 'json_object' };
  if (kind === 'tools') base.tools = TOOLS;
  if (kind === 'disconnect') base.max_tokens = 200;
  return base;
}

/** Reads an SSE answer; returns the usage of its last chunk (null when the stream was cut). */
async function readStream(res: Response, leaveAfter: number | null, abort: AbortController) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let chunks = 0;
  let usage: { completion_tokens: number } | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    let end;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const frame = text.slice(0, end);
      text = text.slice(end + 2);
      const data = frame
        .split('\n')
        .find((l) => l.startsWith('data: '))
        ?.slice(6);
      if (!data || data === '[DONE]') continue;
      const chunk = JSON.parse(data) as { usage?: { completion_tokens: number } };
      if (chunk.usage) usage = chunk.usage;
      if (++chunks === leaveAfter) {
        abort.abort();
        return { usage: null, left: true };
      }
    }
  }
  return { usage, left: false };
}

async function request(url: string, key: string, kind: Kind, random: () => number): Promise<Outcome> {
  const abort = new AbortController();
  const timeout = setTimeout(() => abort.abort(), 120_000);
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body(kind, random)),
      signal: abort.signal,
    });
    if (res.status !== 200) {
      await res.text();
      return { kind, result: String(res.status), completionTokens: 0 };
    }
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
      const { usage, left } = await readStream(res, kind === 'disconnect' ? 3 : null, abort);
      if (left) return { kind, result: 'left', completionTokens: 0 };
      if (!usage) return { kind, result: 'cut', completionTokens: 0 };
      return { kind, result: 'ok', completionTokens: usage.completion_tokens };
    }
    const json = (await res.json()) as { usage: { completion_tokens: number } };
    return { kind, result: 'ok', completionTokens: json.usage.completion_tokens };
  } catch (err) {
    if (abort.signal.aborted) return { kind, result: 'timeout', completionTokens: 0 };
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    return { kind, result: code === 'ECONNREFUSED' ? 'refused' : 'cut', completionTokens: 0 };
  } finally {
    clearTimeout(timeout);
  }
}

export async function run(args: string[]): Promise<void> {
  const minutes = Number(option(args, 'minutes', '30'));
  const clients = Number(option(args, 'clients', '6'));
  const killEvery = Number(option(args, 'kill-every', '240')) * 1000;
  const freeRpm = Number(option(args, 'free-rpm', '6'));
  const modelDir = option(args, 'model', '../shared/fixtures/tiny-pixtral/model-consolidated');
  const random = mulberry32(Number(option(args, 'seed', '7')));

  const pg = await startPostgres();
  if ('skip' in pg) throw new Error(`no PostgreSQL: ${pg.skip}`);
  const db = await createDatabase(pg.url, 'soak');
  const store = await openStore(db, '/tmp');
  const paid = (await store.createKey('soak-paid', 'paid')).secret;
  const free = await store.createKey('soak-free', 'free');

  const serveArgs = (port: number) => [
    ...['--model', modelDir, '--model-name', MODEL, '--db', db, '--log-level', 'warn'],
    ...['--free-rpm', String(freeRpm), '--free-tpm', '1000000', '--port', String(port)],
  ];
  const lifetimes: Lifetime[] = [];
  const newLife = (replica: string) => {
    const life: Lifetime = {
      replica,
      startedAt: Date.now(),
      endedAt: null,
      rssAfterMinute: null,
      peakRss: 0,
    };
    lifetimes.push(life);
    return life;
  };
  const start = async (name: string, port: number): Promise<Replica> => {
    const process = await spawnServe(serveArgs(port));
    return { name, port, process, life: newLife(name) };
  };
  // spawnServe puts --port 0 first; a later --port wins, so each replica keeps its port across restarts.
  const first = await start('a', 0);
  const second = await start('b', 0);
  first.port = Number(new URL(first.process.url).port);
  second.port = Number(new URL(second.process.url).port);
  const replicas = [first, second];
  const began = Date.now();
  const deadline = began + minutes * 60_000;
  const outcomes: Outcome[] = [];
  let kills = 0;

  // Each process's RSS: its level one minute after it started, and its peak after that.
  const sampler = setInterval(() => {
    for (const r of replicas) {
      const rss = rssBytes(r.process.child.pid!);
      if (rss === 0) continue;
      if (Date.now() - r.life.startedAt >= 60_000 && r.life.rssAfterMinute === null)
        r.life.rssAfterMinute = rss;
      if (r.life.rssAfterMinute !== null) r.life.peakRss = Math.max(r.life.peakRss, rss);
    }
  }, 2000);
  // The RSS curve, a line a minute (a leak climbs; V8's heap sizing steps up and then stays).
  const curve = setInterval(() => {
    const minute = Math.round((Date.now() - began) / 60_000);
    const levels = replicas.map((r) => `${r.name} ${Math.round(rssBytes(r.process.child.pid!) / 1e6)} MB`);
    console.error(`soak: minute ${minute}: ${levels.join(', ')}`);
  }, 60_000);
  const killer = (async () => {
    while (Date.now() + killEvery < deadline) {
      await new Promise((r) => setTimeout(r, killEvery));
      const victim = replicas[kills % 2]!;
      victim.process.child.kill('SIGKILL');
      victim.life.endedAt = Date.now();
      await victim.process.exited;
      kills++;
      console.error(`soak: killed replica ${victim.name} (${kills}), restarting`);
      victim.process = await spawnServe(serveArgs(victim.port));
      victim.life = newLife(victim.name);
    }
  })();

  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      let i = 0;
      while (Date.now() < deadline) {
        const kind = KINDS[Math.floor(random() * KINDS.length)]!;
        const replica = replicas[(c + i++) % 2]!;
        outcomes.push(await request(replica.process.url, kind === 'free' ? free.secret : paid, kind, random));
      }
    }),
  );
  await killer;
  clearInterval(sampler);
  clearInterval(curve);
  // Rows of the last killed process are closed by the survivors' lease sweep within a lease (60 s) + a heartbeat.
  const settle = Date.now() + 90_000;
  let rows = await store.usage();
  while (rows.some((r) => r.status === 'in_progress') && Date.now() < settle) {
    await new Promise((r) => setTimeout(r, 2000));
    rows = await store.usage();
  }

  const count = (result: string) => outcomes.filter((o) => o.result === result).length;
  const byStatus = new Map<string, number>();
  for (const row of rows) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
  const delivered = outcomes.reduce((n, o) => n + o.completionTokens, 0);
  const billedCompleted = rows
    .filter((r) => r.status === 'completed')
    .reduce((n, r) => n + r.completionTokens, 0);
  const unbilledBad = rows.filter(
    (r) => (r.status === 'interrupted' || r.status === 'failed') && r.costUsd !== 0,
  );
  // The free key's starts, in any sliding minute.
  const freeStarts = rows
    .filter((r) => r.keyId === free.record.id)
    .map((r) => r.startedAt)
    .sort((a, b) => a - b);
  let worstMinute = 0;
  for (let i = 0, j = 0; i < freeStarts.length; i++) {
    while (freeStarts[i]! - freeStarts[j]! >= 60_000) j++;
    worstMinute = Math.max(worstMinute, i - j + 1);
  }
  const rssGrowth = lifetimes
    .filter((life) => life.rssAfterMinute !== null)
    .map((life) => ({
      replica: life.replica,
      'minutes alive': Number((((life.endedAt ?? Date.now()) - life.startedAt) / 60_000).toFixed(1)),
      'rss after 1 min (MB)': Math.round(life.rssAfterMinute! / 1e6),
      'peak rss (MB)': Math.round(life.peakRss / 1e6),
      growth: `${(((life.peakRss - life.rssAfterMinute!) / life.rssAfterMinute!) * 100).toFixed(1)}%`,
    }));

  console.log(
    `soak: ${minutes} min, ${clients} clients, ${outcomes.length} requests, ${kills} SIGKILLs, node ${process.version}`,
  );
  console.table(
    [...new Set(outcomes.map((o) => o.result))].map((result) => ({
      client_saw: result,
      requests: count(result),
    })),
  );
  console.table([...byStatus].map(([status, rowsWith]) => ({ ledger_status: status, rows: rowsWith })));
  console.log(
    JSON.stringify({
      rows_in_progress: byStatus.get('in_progress') ?? 0,
      completed_rows: byStatus.get('completed') ?? 0,
      client_ok: count('ok'),
      tokens_delivered_ok: delivered,
      tokens_billed_completed: billedCompleted,
      cancelled_rows: byStatus.get('cancelled') ?? 0,
      client_left: count('left'),
      client_cut: count('cut'),
      client_refused: count('refused'),
      rows_total: rows.length,
      interrupted_or_failed_billed: unbilledBad.length,
      free_rpm_limit: freeRpm,
      free_worst_minute: worstMinute,
      prices: DEFAULT_PRICES,
    }),
  );
  console.table(rssGrowth);
  await Promise.all(replicas.map((r) => killServe(r.process)));
  await store.close();
  await pg.stop();
}
