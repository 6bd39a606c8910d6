/**
 * Replica leases, shared by both stores. Every server process heartbeats its replica id into `replicas`. A
 * ledger row still in progress is orphaned — the process that owns it died — once its replica has not
 * heartbeated within the lease and the row itself is older than the lease; any replica may then close it as
 * interrupted, unbilled, just as a restart of that same replica would (recoverInterrupted).
 *
 * A replica with no heartbeat row is silent too: rows written before heartbeats existed, a replica that shut
 * down (and retired its heartbeat) or one whose stale heartbeat was already swept. The age condition on the
 * row keeps a request that started moments ago safe while its replica's first (or next) heartbeat is on its way.
 *
 * The SQL is written once for both dialects: `placeholder(n)` writes the n-th (1-based) parameter, and
 * parameters appear in the text in the order of their numbers, so SQLite's positional `?` works as well.
 */

type Placeholder = (n: number) => string;

/** Where a silent replica's lease ended: heartbeats and row starts at or before this instant are too old. */
export function leaseCutoff(leaseMs: number, now: number): number {
  return now - leaseMs;
}

/** Parameters: replica, now. */
export function heartbeatSql(p: Placeholder): string {
  return (
    `INSERT INTO replicas (id, heartbeat_at) VALUES (${p(1)}, ${p(2)}) ` +
    'ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at'
  );
}

/** Parameters: replica. */
export function retireSql(p: Placeholder): string {
  return `DELETE FROM replicas WHERE id = ${p(1)}`;
}

/**
 * How a row is closed when its process is gone: interrupted, unbilled, tokens left as recorded (the prompt
 * counted at admission). Parameters: finished_at, then those of `where`.
 */
function interruptSql(p: Placeholder, where: string): string {
  return (
    `UPDATE requests SET status = 'interrupted', cost_nanousd = 0, finished_at = ${p(1)} ` +
    `WHERE status = 'in_progress' AND ${where}`
  );
}

/** One replica's in_progress rows (its own restart). Parameters: now, replica. */
export function recoverSql(p: Placeholder): string {
  return interruptSql(p, `replica = ${p(2)}`);
}

/** Orphaned rows (see above). Parameters: now, cutoff, cutoff. */
export function sweepRowsSql(p: Placeholder): string {
  return interruptSql(
    p,
    `started_at <= ${p(2)} AND NOT EXISTS (SELECT 1 FROM replicas ` +
      `WHERE replicas.id = requests.replica AND replicas.heartbeat_at > ${p(3)})`,
  );
}

/** Heartbeats of silent replicas, so the table does not grow by one row per restart. Parameters: cutoff. */
export function forgetSilentSql(p: Placeholder): string {
  return `DELETE FROM replicas WHERE heartbeat_at <= ${p(1)}`;
}
