/**
 * Images named on the command line: local paths become data URIs (so the prompt is an ordinary chat
 * request), http(s) URLs are downloaded when the prompt is prepared, data URIs pass through. Every failure
 * is one line naming the file or URL.
 */
import { DEFAULT_MAX_IMAGE_BYTES, fileToDataUri } from '../engine/fetchers.js';
import { ImageError, imageBytesFromDataUri } from '../image/index.js';
import { CliError, UsageError } from './errors.js';
import { networkProblem } from './network-error.js';

const TIMEOUT_MS = 30_000;

export async function imageUrl(pathOrUrl: string): Promise<string> {
  if (/^(data|https?):/i.test(pathOrUrl)) return pathOrUrl;
  try {
    return await fileToDataUri(pathOrUrl, DEFAULT_MAX_IMAGE_BYTES);
  } catch (err) {
    if (err instanceof ImageError) throw err; // empty or too large: the message names the file
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read image "${pathOrUrl}" (${code ?? (err as Error).message})`);
  }
}

export async function cliImageFetcher(url: string): Promise<Uint8Array> {
  if (url.startsWith('data:')) return imageBytesFromDataUri(url, DEFAULT_MAX_IMAGE_BYTES);
  try {
    return await download(url);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`cannot fetch image ${url}: ${networkProblem(err, TIMEOUT_MS)}`);
  }
}

async function download(url: string): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const fail = (problem: string) => new CliError(`cannot fetch image ${url}: ${problem}`);
  if (!response.ok) {
    await response.body?.cancel();
    throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  const tooLarge = () => fail(`larger than the ${DEFAULT_MAX_IMAGE_BYTES}-byte image limit`);
  if (Number(response.headers.get('content-length')) > DEFAULT_MAX_IMAGE_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  // Read in chunks so a server that sends no length cannot fill memory.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > DEFAULT_MAX_IMAGE_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  if (total === 0) throw fail('the response is empty');
  return Buffer.concat(chunks);
}
