/**
 * Remote `image_url`s: http(s) only, no server-side request forgery (private targets refused by address, by
 * DNS answer and after a redirect), a size limit and a time limit — against real HTTP servers on loopback.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress } from '../src/server/remote-images.js';
import { fakeNetwork } from './helpers/fake-network.js';
import { ask, assertApiError, postChat } from './helpers/http.js';
import { fixtureEngine, startTestServer, type TestServer } from './helpers/server.js';
import { prepare } from './helpers/engine.js';

const PNG = readFileSync('examples/shapes.png');
const DATA_URI = `data:image/png;base64,${PNG.toString('base64')}`;
const withImage = (url: string) =>
  ask([
    { type: 'text', text: 'What is in this picture?' },
    { type: 'image_url', image_url: url },
  ]);

/** An image host on loopback: /shapes.png, a large image (declared or chunked), a hang, redirects. */
async function imageHost() {
  let redirectTo = '';
  const server = http.createServer((req, res) => {
    const path = req.url ?? '';
    if (path === '/shapes.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    if (path === '/big.png') return res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000));
    if (path === '/chunked.png') {
      res.writeHead(200, { 'content-type': 'image/png' });
      for (let i = 0; i < 5; i++) res.write(Buffer.alloc(1000));
      return res.end();
    }
    if (path === '/redirect') return res.writeHead(302, { location: redirectTo }).end();
    if (path === '/hang') return; // never answers
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    redirect: (to: string) => (redirectTo = to),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The answer and prompt size for the same picture sent as a data URI. */
async function viaDataUri(server: TestServer, key: string) {
  const res = await postChat(server, key, withImage(DATA_URI));
  assert.equal(res.status, 200);
  const body = (await res.json()) as {
    usage: { prompt_tokens: number };
    choices: { message: { content: string } }[];
  };
  const engineTokens = (await prepare(fixtureEngine(), withImage(DATA_URI))).ids.length;
  assert.equal(body.usage.prompt_tokens, engineTokens);
  return { promptTokens: engineTokens, text: body.choices[0]!.message.content };
}

async function assertSameAsDataUri(res: Response, expected: { promptTokens: number; text: string }) {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text);
  assert.equal(body.usage.prompt_tokens, expected.promptTokens);
  assert.equal(body.choices[0].message.content, expected.text);
}

describe('remote image URLs, default settings (no private targets)', () => {
  let server: TestServer;
  let key: string;
  let host: Awaited<ReturnType<typeof imageHost>>;
  let restoreNetwork: () => void;
  before(async () => {
    host = await imageHost();
    server = await startTestServer();
    key = await server.key('paid');
    // images.example.com is "public" (its traffic is routed to the loopback host), intranet.example.com is not.
    restoreNetwork = fakeNetwork(
      { 'images.example.com': '93.184.216.34', 'intranet.example.com': '10.1.2.3' },
      { '93.184.216.34': '127.0.0.1' },
    );
  });
  after(async () => {
    restoreNetwork();
    await server.stop();
    await host.close();
  });

  it('refuses loopback and private addresses however they are spelled (400 image_url_forbidden)', async () => {
    const p = host.port;
    for (const url of [
      `http://127.0.0.1:${p}/shapes.png`,
      `http://2130706433:${p}/shapes.png`,
      `http://[::1]:${p}/shapes.png`,
      `http://[::ffff:127.0.0.1]:${p}/shapes.png`,
      `http://10.0.0.1:${p}/shapes.png`,
      `http://169.254.169.254/latest/meta-data`,
      `http://localhost:${p}/shapes.png`,
      `http://intranet.example.com:${p}/shapes.png`,
    ]) {
      const res = await postChat(server, key, withImage(url));
      await assertApiError(res, 400, 'invalid_request_error', 'image_url_forbidden');
    }
  });

  it('refuses other schemes and credentials in the URL (400 invalid_image_url)', async () => {
    for (const url of [
      'file:///etc/passwd',
      'ftp://example.com/a.png',
      'http://user:pw@images.example.com/a.png',
    ]) {
      const res = await postChat(server, key, withImage(url));
      await assertApiError(res, 400, 'invalid_request_error', 'invalid_image_url');
    }
  });

  it('fetches from a public host: same prompt tokens and answer as the data URI', async () => {
    const expected = await viaDataUri(server, key);
    const res = await postChat(server, key, withImage(`http://images.example.com:${host.port}/shapes.png`));
    await assertSameAsDataUri(res, expected);
  });

  it('refuses a redirect from a public host to a private address', async () => {
    const redirect = `http://images.example.com:${host.port}/redirect`;
    const rows = (await server.store.usage()).length;
    for (const target of [
      `http://127.0.0.1:${host.port}/shapes.png`,
      `http://intranet.example.com:${host.port}/x`,
    ]) {
      host.redirect(target);
      const res = await postChat(server, key, withImage(redirect));
      await assertApiError(res, 400, 'invalid_request_error', 'image_url_forbidden');
    }
    assert.equal((await server.store.usage()).length, rows, 'refused before anything is billed');
  });
});

describe('remote image URLs with allowPrivate (trusted local use)', () => {
  const timeoutMs = 300;
  let server: TestServer;
  let key: string;
  let host: Awaited<ReturnType<typeof imageHost>>;
  before(async () => {
    host = await imageHost();
    server = await startTestServer({ images: { allowPrivate: true, maxBytes: 2000, timeoutMs } });
    key = await server.key('paid');
  });
  after(async () => {
    await server.stop();
    await host.close();
  });
  const url = (path: string) => `http://127.0.0.1:${host.port}${path}`;

  it('fetches a local image (also through a redirect): same prompt tokens and answer as the data URI', async () => {
    const expected = await viaDataUri(server, key);
    await assertSameAsDataUri(await postChat(server, key, withImage(url('/shapes.png'))), expected);
    host.redirect('/shapes.png');
    await assertSameAsDataUri(await postChat(server, key, withImage(url('/redirect'))), expected);
  });

  it('refuses an image over maxBytes, declared or streamed (413 too_large)', async () => {
    for (const path of ['/big.png', '/chunked.png']) {
      const res = await postChat(server, key, withImage(url(path)));
      const body = await assertApiError(res, 413, 'invalid_request_error', 'too_large');
      assert.match(body.message, /2000-byte/);
    }
  });

  it('gives up on a host that never answers within timeoutMs (400 image_fetch_timeout)', async () => {
    const started = Date.now();
    const res = await postChat(server, key, withImage(url('/hang')));
    const elapsed = Date.now() - started;
    await assertApiError(res, 400, 'invalid_request_error', 'image_fetch_timeout');
    assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 2000, `${elapsed} ms`);
  });

  it('reports a failed fetch as 400 image_fetch_failed', async () => {
    await assertApiError(
      await postChat(server, key, withImage(url('/missing.png'))),
      400,
      'invalid_request_error',
      'image_fetch_failed',
    );
  });
});

describe('isPublicAddress', () => {
  it('refuses loopback, private, link-local, unique-local and mapped private addresses', () => {
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '::1',
      '::',
      'fc00::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      'not-an-address',
    ])
      assert.equal(isPublicAddress(address), false, address);
  });

  it('accepts public unicast addresses', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700::1', '::ffff:8.8.8.8'])
      assert.equal(isPublicAddress(address), true, address);
  });
});
