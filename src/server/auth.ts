/**
 * API-key authentication: `Authorization: Bearer KEY` on every /v1 route. Keys are looked up by hash (the
 * store never holds a secret); a missing, unknown or revoked key is a 401 unless the server runs with an
 * explicit --no-auth for local use.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiKeyRecord, Store } from '../store/types.js';
import { unauthorized } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller's key; null when the server runs without authentication. */
    apiKey: ApiKeyRecord | null;
  }
}

function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

export function registerAuth(app: FastifyInstance, store: Store, required: boolean): void {
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v1/')) return;
    const token = bearerToken(request);
    if (!required) {
      request.apiKey = token ? await store.authenticate(token) : null;
      return;
    }
    if (!token) throw unauthorized();
    const key = await store.authenticate(token);
    if (!key) throw unauthorized('Unauthorized: the API key is invalid or revoked');
    request.apiKey = key;
  });
}
