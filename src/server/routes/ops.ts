/** Operations: GET /health (liveness + load, for load balancers) and GET /metrics (Prometheus text format). */
import type { FastifyInstance } from 'fastify';
import type { EngineClient } from '../../engine/engine.js';
import type { ServerConfig } from '../config.js';
import type { ServerMetrics } from '../metrics.js';

export function registerOps(
  app: FastifyInstance,
  config: ServerConfig,
  engine: EngineClient,
  metrics: ServerMetrics,
  isShuttingDown: () => boolean,
): void {
  app.get('/health', async (_request, reply) => {
    const stats = engine.stats();
    const status = isShuttingDown() ? 'shutting_down' : 'ok';
    reply.code(status === 'ok' ? 200 : 503);
    return {
      status,
      model: config.modelName,
      backend: engine.description,
      engine: engine.settings && {
        backend: engine.settings.backend,
        kv_cache: engine.settings.kvCache,
        max_context: engine.settings.maxContext,
        max_batch: engine.settings.maxBatch,
        max_queue: engine.settings.maxQueue,
        cache_bytes: engine.settings.cacheBytes,
        prefix_caching: engine.settings.prefixCaching,
        speculation: engine.settings.speculation,
      },
      replica: config.replica,
      queue_depth: stats.waiting,
      running: stats.running,
    };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
