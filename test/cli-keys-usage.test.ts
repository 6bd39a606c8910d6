/** `pixtral keys` and `pixtral usage`: the operator's side of keys and the ledger, through the real CLI. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SqliteStore } from '../src/store/index.js';
import { pixtral } from './helpers/cli.js';

const dataDir = mkdtempSync(join(tmpdir(), 'pixtral-cli-keys-'));
const store = (args: string[]) => pixtral([...args, '--data-dir', dataDir]);

describe('pixtral keys / usage', () => {
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates a key shown once, stores only its hash, lists and revokes it', async () => {
    const created = store(['keys', 'create', '--name', 'ci bot', '--tier', 'free']);
    assert.equal(created.status, 0, created.stderr);
    const secret = created.stdout.trim();
    assert.match(secret, /^ptk_[A-Za-z0-9]{32}$/);
    assert.match(created.stderr, /shown only once/);
    assert.ok(!readFileSync(join(dataDir, 'pixtral.db')).includes(Buffer.from(secret)), 'secret not on disk');

    const listed = store(['keys', 'list', '--json']);
    const keys = JSON.parse(listed.stdout) as {
      id: string;
      name: string;
      tier: string;
      revokedAt: number | null;
    }[];
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.name, 'ci bot');
    assert.equal(keys[0]!.tier, 'free');
    assert.ok(!listed.stdout.includes(secret));

    assert.equal(store(['keys', 'revoke', keys[0]!.id]).status, 0);
    const db = new SqliteStore(join(dataDir, 'pixtral.db'));
    try {
      assert.equal(await db.authenticate(secret), null);
    } finally {
      await db.close();
    }
    const again = store(['keys', 'revoke', keys[0]!.id]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /no active key/);
  });

  it('prints the ledger as CSV with exact costs, filtered by key and date', async () => {
    const db = new SqliteStore(join(dataDir, 'pixtral.db'));
    let keyId: string;
    try {
      const { record } = await db.createKey('metered', 'paid');
      keyId = record.id;
      const admission = await db.admit(
        { keyId, model: 'm', promptTokens: 1000, replica: 'r' },
        {
          requestsPerMinute: null,
          tokensPerMinute: null,
          monthlyTokens: null,
        },
      );
      assert.ok(admission.allowed);
      const outcome = {
        status: 'completed',
        promptTokens: 1000,
        completionTokens: 200,
        latencyMs: 5,
        httpStatus: 200,
      } as const;
      await db.finish(admission.requestId, outcome, { inputPerMillion: 0.25, outputPerMillion: 1.25 });
    } finally {
      await db.close();
    }
    const csv = store(['usage', '--key', keyId!, '--csv']);
    assert.equal(csv.status, 0, csv.stderr);
    const [header, row, extra] = csv.stdout.trim().split('\n');
    assert.equal(
      header,
      'request_id,key_id,model,status,prompt_tokens,completion_tokens,cost_usd,latency_ms,started_at',
    );
    assert.equal(extra, undefined);
    const cells = row!.split(',');
    assert.equal(cells[1], keyId!);
    assert.equal(cells[3], 'completed');
    assert.equal(cells[6], '0.000500000', '1000 × $0.25/M + 200 × $1.25/M');
    const future = store(['usage', '--since', '2999-01-01', '--csv']);
    assert.equal(future.stdout.trim().split('\n').length, 1, 'only the header');
  });

  it('rejects bad input with one readable line and a non-zero exit', () => {
    const tier = store(['keys', 'create', '--name', 'x', '--tier', 'gold']);
    assert.equal(tier.status, 2);
    assert.match(tier.stderr, /--tier must be free or paid/);
    const action = store(['keys', 'rotate']);
    assert.equal(action.status, 2);
    const since = store(['usage', '--since', 'yesterday-ish']);
    assert.equal(since.status, 2);
    assert.match(since.stderr, /--since must be a date/);
    const db = pixtral(['keys', 'list', '--db', 'mysql://nope']);
    assert.equal(db.status, 1);
    assert.equal(db.stderr.trim().split('\n').length, 1, db.stderr);
    assert.match(db.stderr, /^pixtral keys: unsupported database URL/);
  });
});
