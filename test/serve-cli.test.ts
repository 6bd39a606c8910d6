/**
 * `pixtral serve` as a user starts it: every engine option on the command line reaches the engine worker
 * (the server once ignored --kv-cache), and the default model answers to its own name — never the 12B's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { killServe, spawnServe, type ServeProcess } from './helpers/ledger.js';
import { fixturePath, loadGoldens } from './helpers/fixtures.js';

const dataDir = mkdtempSync(join(tmpdir(), 'pixtral-serve-cli-'));
const running: ServeProcess[] = [];
after(async () => {
  await Promise.all(running.map(killServe));
  rmSync(dataDir, { recursive: true, force: true });
});

async function serve(...args: string[]): Promise<ServeProcess> {
  const db = join(dataDir, `ledger-${running.length}.db`);
  const server = await spawnServe(['--no-auth', '--log-level', 'warn', '--db', db, ...args]);
  running.push(server);
  return server;
}

const chat = (url: string, model: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
  });

describe('pixtral serve', () => {
  it('hands every engine option to the engine worker', async () => {
    const server = await serve(
      ...['--model', fixturePath(loadGoldens().model.consolidated), '--backend', 'reference'],
      ...['--kv-cache', 'q8', '--context', '96', '--max-batch', '3', '--max-queue', '5'],
      ...['--cache-size', '12345'],
    );
    const health = (await (await fetch(`${server.url}/health`)).json()) as {
      engine: Record<string, unknown>;
    };
    assert.deepEqual(health.engine, {
      backend: 'reference',
      kv_cache: 'q8',
      max_context: 96,
      max_batch: 3,
      max_queue: 5,
      cache_bytes: 12345,
      prefix_caching: true,
      speculation: true,
    });
    assert.equal((await chat(server.url, 'model-consolidated')).status, 200);
  });

  it('serves the default model under its own id, and refuses the 12B names for it', async () => {
    const server = await serve();
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as {
      data: { id: string; description: string; owned_by: string; aliases: string[] }[];
    };
    const ids = models.data.map((m) => m.id);
    assert.equal(ids.length, 1);
    assert.doesNotMatch(ids[0]!, /12b/i);
    assert.match(models.data[0]!.description, /not Pixtral 12B/);
    assert.equal(models.data[0]!.owned_by, 'pixtral-ts');
    assert.deepEqual(models.data[0]!.aliases, []);
    assert.equal((await chat(server.url, ids[0]!)).status, 200);
    for (const name of ['pixtral-12b-2409', 'pixtral-12b', 'pixtral']) {
      const res = await chat(server.url, name);
      assert.equal(res.status, 400, name);
      assert.equal(((await res.json()) as { code: string }).code, 'invalid_model');
    }
  });
});
