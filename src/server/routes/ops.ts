/** Operations: GET /health (liveness + load, for load balancers) and GET /metrics (Prometheus text format). */
import type { FastifyInstance } from 'fastify';
import type { ChatBackend } from '../chat-backend.js';
import type { ServerConfig } from '../config.js';
import type { ServerMetrics } from '../metrics.js';

export function registerOps(
  app: FastifyInstance,
  config: ServerConfig,
  backend: ChatBackend,
  metrics: ServerMetrics,
  isShuttingDown: () => boolean,
): void {
  app.get('/health', async (_request, reply) => {
    const stats = backend.stats();
    const status = isShuttingDown() ? 'shutting_down' : 'ok';
    reply.code(status === 'ok' ? 200 : 503);
    return {
      status,
      model: config.modelName,
      backend: backend.description,
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
