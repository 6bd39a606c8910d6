/**
 * Fetching `image_url`s for the server: data URIs always; http(s) URLs with a size limit, a time limit, a few
 * redirects, and no server-side request forgery — every address a host name resolves to (at connect time, so
 * DNS rebinding can't slip past) must be a public unicast address unless the operator allows private ones.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { DEFAULT_MAX_IMAGE_BYTES, dataUriFetcher } from '../engine/fetchers.js';
import type { ImageFetcher } from '../engine/prepare.js';
import { ImageError } from '../image/errors.js';
import { ApiError } from './errors.js';

export interface RemoteImageOptions {
  readonly maxBytes?: number;
  readonly timeoutMs?: number;
  /** Allow loopback/private/link-local targets (only for trusted local use and tests). */
  readonly allowPrivate?: boolean;
  readonly maxRedirects?: number;
}

const imageUrlError = (message: string, code = 'invalid_image_url') =>
  new ApiError(400, message, 'invalid_request_error', code);

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

/** A dns.lookup that refuses non-public addresses, used by the socket itself. */
function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (refused || list.length === 0) {
        const denied = Object.assign(new Error(`image host ${hostname} resolves to a private address`), {
          code: 'EPRIVATEADDR',
        });
        return callback(denied, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

export function remoteImageFetcher(options: RemoteImageOptions = {}): ImageFetcher {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const fromDataUri = dataUriFetcher(maxBytes);
  return async (url) => {
    if (url.startsWith('data:')) return fromDataUri(url);
    return fetchRemote(url, { ...options, maxBytes }, options.maxRedirects ?? 3);
  };
}

async function fetchRemote(
  raw: string,
  options: RemoteImageOptions & { maxBytes: number },
  redirects: number,
) {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw imageUrlError('image_url is neither a data: URI nor a valid http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw imageUrlError(`image_url scheme "${url.protocol}" is not allowed (use https, http or data:)`);
  if (url.username || url.password) throw imageUrlError('image_url must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host) && !options.allowPrivate && !isPublicAddress(host))
    throw imageUrlError(`image_url host ${host} is a private address`, 'image_url_forbidden');

  const response = await request(url, options);
  const status = response.statusCode ?? 0;
  if (status >= 300 && status < 400 && response.headers.location) {
    response.resume();
    if (redirects <= 0) throw imageUrlError('image_url redirected too many times');
    return fetchRemote(new URL(response.headers.location, url).toString(), options, redirects - 1);
  }
  if (status !== 200) {
    response.resume();
    throw imageUrlError(`fetching image_url failed with HTTP ${status}`, 'image_fetch_failed');
  }
  const declared = Number(response.headers['content-length']);
  if (declared > options.maxBytes) {
    response.destroy();
    throw new ImageError('too_large', `image is larger than the ${options.maxBytes}-byte limit`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > options.maxBytes) {
      response.destroy();
      throw new ImageError('too_large', `image is larger than the ${options.maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function request(url: URL, options: RemoteImageOptions): Promise<http.IncomingMessage> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(
      url,
      {
        lookup: guardedLookup(options.allowPrivate ?? false),
        timeout: timeoutMs,
        headers: { accept: 'image/*' },
      },
      (res) => {
        // The whole download, not just the connection, must finish in time.
        res.setTimeout(timeoutMs, () =>
          res.destroy(imageUrlError('fetching image_url timed out', 'image_fetch_timeout')),
        );
        resolve(res);
      },
    );
    req.on('timeout', () =>
      req.destroy(imageUrlError('fetching image_url timed out', 'image_fetch_timeout')),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof ApiError) return reject(err);
      if (err.code === 'EPRIVATEADDR') return reject(imageUrlError(err.message, 'image_url_forbidden'));
      reject(imageUrlError(`fetching image_url failed: ${err.code ?? err.message}`, 'image_fetch_failed'));
    });
  });
}
