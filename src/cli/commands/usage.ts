/** `pixtral usage [--key KEY_ID] [--since DATE] [--csv]`: the usage ledger, as a table, CSV or JSON. */
import type { LedgerRow } from '../../store/types.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { openCliStore, STORE_OPTIONS } from '../store-options.js';

const COLUMNS = [
  'request_id',
  'key_id',
  'model',
  'status',
  'prompt_tokens',
  'completion_tokens',
  'cost_usd',
  'latency_ms',
  'started_at',
] as const;

function cells(row: LedgerRow): string[] {
  return [
    row.requestId,
    row.keyId ?? '',
    row.model,
    row.status,
    String(row.promptTokens),
    String(row.completionTokens),
    row.costUsd.toFixed(9),
    row.latencyMs === null ? '' : String(row.latencyMs),
    new Date(row.startedAt).toISOString(),
  ];
}

const csvCell = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      ...STORE_OPTIONS,
      key: { type: 'string' },
      since: { type: 'string' },
      csv: { type: 'boolean' },
      json: { type: 'boolean' },
    },
    { min: 0, max: 0, names: '' },
  );
  const since = values.since === undefined ? undefined : Date.parse(values.since);
  if (since !== undefined && Number.isNaN(since))
    throw new UsageError(`--since must be a date, got "${values.since}"`);
  const store = await openCliStore(values);
  try {
    const rows = await store.usage({
      ...(values.key && { keyId: values.key }),
      ...(since !== undefined && { since }),
    });
    if (values.json) io.out(JSON.stringify(rows, null, 2));
    else if (values.csv) {
      io.out(COLUMNS.join(','));
      for (const row of rows) io.out(cells(row).map(csvCell).join(','));
    } else {
      const total = rows.reduce(
        (t, r) => ({ p: t.p + r.promptTokens, c: t.c + r.completionTokens, usd: t.usd + r.costUsd }),
        { p: 0, c: 0, usd: 0 },
      );
      for (const row of rows) io.out(cells(row).join('  '));
      io.out(
        `${rows.length} requests, ${total.p} prompt tokens, ${total.c} completion tokens, $${total.usd.toFixed(6)}`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}
