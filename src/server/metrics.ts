/** Prometheus metrics of one server process (its own registry, so tests can run several servers). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SchedulerStats } from '../engine/scheduler.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'status'>;
  readonly tokens: Counter<'kind'>;
  readonly latency: Histogram<'route'>;
  readonly timeToFirstToken: Histogram;
  readonly decodeRate: Histogram;
  /** Requests a route counted itself (streams, clients that left), so the generic hook skips them. */
  private readonly counted = new WeakSet<object>();

  constructor(stats: () => SchedulerStats) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'pixtral_process_' });
    this.requests = new Counter({
      name: 'pixtral_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers,
    });
    this.tokens = new Counter({
      name: 'pixtral_tokens_total',
      help: 'Tokens processed: prompt (image tokens included) and completion',
      labelNames: ['kind'],
      registers,
    });
    this.latency = new Histogram({
      name: 'pixtral_request_duration_seconds',
      help: 'Time from request to last byte',
      labelNames: ['route'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'pixtral_time_to_first_token_seconds',
      help: 'Time from admission to the first generated token',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.decodeRate = new Histogram({
      name: 'pixtral_decode_tokens_per_second',
      help: 'Per-request decode speed after the first token',
      buckets: [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    new Gauge({
      name: 'pixtral_queue_depth',
      help: 'Requests waiting for a generation slot',
      registers,
      collect() {
        this.set(stats().waiting);
      },
    });
    new Gauge({
      name: 'pixtral_running_sequences',
      help: 'Sequences being prefilled or decoded',
      registers,
      collect() {
        this.set(stats().running);
      },
    });
    // The engine's own counters and gauges, read at scrape time (they cross from the engine worker with its stats).
    for (const [name, help, value] of ENGINE_TOTALS)
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(value(stats()));
        },
      });
    for (const [name, help, value] of ENGINE_GAUGES)
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value(stats()));
        },
      });
  }

  /** Counts a request once, by the route that knows how it ended. */
  countRequest(request: object, route: string, status: string, seconds: number): void {
    this.counted.add(request);
    this.requests.inc({ route, status });
    this.latency.observe({ route }, seconds);
  }

  /** The generic count for every other response. */
  countResponse(request: object, route: string, status: number, seconds: number): void {
    if (this.counted.has(request)) return;
    this.counted.add(request);
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }
}

type EngineMetric = readonly [name: string, help: string, value: (s: SchedulerStats) => number];

const ENGINE_TOTALS: readonly EngineMetric[] = [
  [
    'pixtral_image_cache_hits_total',
    'Images whose features came from the image cache',
    (s) => s.imageCacheHits,
  ],
  [
    'pixtral_image_cache_misses_total',
    'Images run through the vision encoder (not in the image cache)',
    (s) => s.imageCacheMisses,
  ],
  ['pixtral_prefills_total', 'Prompts prefilled (once for all n choices)', (s) => s.prefills],
  [
    'pixtral_prefix_cache_hits_total',
    'Prompts that started from a cached prefix of an earlier prompt (same API key)',
    (s) => s.prefixCacheHits,
  ],
  [
    'pixtral_prefix_cache_misses_total',
    'Prompts prefilled from the start (no cached prefix)',
    (s) => s.prefixCacheMisses,
  ],
  [
    'pixtral_prefix_cached_tokens_total',
    'Prompt tokens whose keys and values came from the prefix cache',
    (s) => s.prefixCachedTokens,
  ],
  ['pixtral_draft_tokens_total', 'Tokens drafted by prompt lookup for verification', (s) => s.draftedTokens],
  [
    'pixtral_draft_accepted_tokens_total',
    'Drafted tokens the model confirmed (each saves a decode step)',
    (s) => s.acceptedTokens,
  ],
];

const ENGINE_GAUGES: readonly EngineMetric[] = [
  ['pixtral_image_cache_bytes', 'Bytes the image-feature cache holds', (s) => s.imageCacheBytes],
  [
    'pixtral_prefix_cache_bytes',
    'Bytes of KV pages the prefix cache holds (pages shared by two entries count twice)',
    (s) => s.prefixCacheBytes,
  ],
];
