/**
 * This process's lease on its replica id. Every heartbeat tells the other replicas sharing the database that
 * this one is alive, and also sweeps: it closes, as interrupted and unbilled, the in-flight ledger rows of
 * replicas silent for longer than the lease (store/lease.ts). A crashed process's rows are thus closed by
 * whichever replica runs — on SQLite, by the restarted server itself — whatever id the dead process had, so the
 * ledger stays true without an operator giving each replica a stable --replica.
 */
import type { Store } from '../store/types.js';

export interface LeaseTiming {
  /** How often this replica heartbeats and sweeps. */
  readonly heartbeatMs: number;
  /** How long a replica may stay silent before its in-flight rows count as orphaned. */
  readonly leaseMs: number;
}

/** The part of the server's logger the lease writes to. */
export interface LeaseLog {
  warn(details: object, message: string): void;
}

export class ReplicaLease {
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly replica: string,
    private readonly timing: LeaseTiming,
    private readonly log: LeaseLog,
  ) {
    // With less than two beats per lease, one late beat would let the others expire a live replica.
    if (!(timing.heartbeatMs > 0 && timing.leaseMs >= 2 * timing.heartbeatMs))
      throw new RangeError(`replica lease ${timing.leaseMs} ms needs heartbeats of at most half of it`);
  }

  /** Beats once (so a restart sweeps at once), then every heartbeatMs until stop(). */
  async start(): Promise<void> {
    await this.beat();
    this.schedule();
  }

  /** Stops beating and retires this replica's heartbeat: call once its requests are closed (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.beating;
    try {
      await this.store.retireReplica(this.replica);
    } catch (err) {
      // Harmless: the heartbeat goes stale and the next sweep elsewhere forgets it.
      this.log.warn({ err }, 'could not retire the replica heartbeat');
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    // A chain of timeouts rather than an interval: a slow beat (database busy) never overlaps the next.
    this.timer = setTimeout(() => {
      this.beating = this.beat().then(() => this.schedule());
    }, this.timing.heartbeatMs);
    // The lease must not keep a process alive that has nothing else to do (tests, a failed start).
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.store.heartbeat(this.replica);
      const swept = await this.store.sweepSilentReplicas(this.timing.leaseMs);
      if (swept > 0)
        this.log.warn({ swept }, 'closed ledger rows of replicas silent for longer than the lease');
    } catch (err) {
      // A database outage must not stop serving or end the beats: the next one tries again.
      this.log.warn({ err }, 'replica heartbeat failed');
    }
  }
}
