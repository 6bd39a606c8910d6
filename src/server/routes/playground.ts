/**
 * The web playground at `/`: a static page (built from web/ into dist/web by `npm run build`) that talks to
 * this server's public API only, plus the few facts it cannot ask the API for (whether keys are required,
 * prices, how images are sized). Served under a strict Content-Security-Policy: the page's own script and
 * styles, images from data:/blob: URLs (thumbnails), and requests to this origin only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { EngineClient } from '../../engine/engine.js';
import { DEFAULT_MAX_IMAGE_BYTES } from '../../engine/fetchers.js';
import type { ServerConfig } from '../config.js';
import type { PlaygroundConfig } from '../playground-config.js';

/** dist/web, next to dist/src (this file is dist/src/server/routes/playground.js once built). */
export const PLAYGROUND_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web');

const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/playground.js': ['playground.js', 'text/javascript; charset=utf-8'],
  '/playground.css': ['playground.css', 'text/css; charset=utf-8'],
} as const;

export const PLAYGROUND_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function registerPlayground(app: FastifyInstance, config: ServerConfig, engine: EngineClient): void {
  if (!config.playground) return;
  const missing = Object.values(FILES).filter(([file]) => !existsSync(join(PLAYGROUND_DIR, file)));
  if (missing.length > 0) {
    app.log.warn({ dir: PLAYGROUND_DIR }, 'the web playground is not built (npm run build); / is off');
    return;
  }
  const secure = (reply: FastifyReply, type: string) =>
    reply
      .type(type)
      .header('content-security-policy', PLAYGROUND_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache');

  for (const [route, [file, type]] of Object.entries(FILES)) {
    const body = readFileSync(join(PLAYGROUND_DIR, file));
    app.get(route, async (_request, reply) => secure(reply, type).send(body));
  }
  app.get('/playground/config.json', async (_request, reply) => {
    const body: PlaygroundConfig = {
      model: config.modelName,
      auth: config.auth,
      prices: { ...config.prices },
      image: engine.image && { patchSize: engine.image.patchSize, maxImageSize: engine.image.maxImageSize },
      maxImageBytes: config.images.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES,
    };
    return secure(reply, 'application/json; charset=utf-8').send(body);
  });
}
