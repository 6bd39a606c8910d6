/**
 * Words for why a fetch() failed. Node's fetch rejects with a bare "fetch failed" and keeps the reason in
 * `err.cause` (a system error code, an undici code, or a TLS/HTTP-parser error), which a user never sees.
 */
const CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'host not found (DNS lookup failed)',
  EAI_AGAIN: 'DNS lookup failed (temporary failure; is the network up?)',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'the server closed the connection',
  ERR_SSL_WRONG_VERSION_NUMBER: 'TLS handshake failed (is it an http:// server?)',
};

export function networkProblem(err: unknown, timeoutMs: number): string {
  const error = err as Error & { cause?: Error & { code?: string } };
  if (error.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = error.cause ?? (error as Error & { code?: string });
  const code = cause.code ?? '';
  if (code === 'ERR_INVALID_URL') return 'not a valid URL';
  // The fetch standard refuses ports of non-web protocols (SMTP, discard, X11…).
  if (cause.message === 'bad port')
    return 'fetch refuses to connect to this port (reserved for another protocol)';
  if (CODES[code]) return CODES[code];
  if (code.startsWith('HPE_')) return 'the server did not answer with valid HTTP';
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS certificate not accepted (${code})`;
  const message = String(cause.message ?? err).split('\n')[0]!;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
