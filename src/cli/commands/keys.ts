/**
 * `pixtral keys create --name N [--tier free|paid]`, `keys list`, `keys revoke KEY_ID`: API keys in the
 * server's store. A new key's secret is printed once; only its hash is kept.
 */
import type { Tier } from '../../store/types.js';
import { parseCommandArgs } from '../args.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';
import { openCliStore, STORE_OPTIONS } from '../store-options.js';

const TIERS: readonly Tier[] = ['free', 'paid'];

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseCommandArgs(
    rest,
    { ...STORE_OPTIONS, name: { type: 'string' }, tier: { type: 'string' }, json: { type: 'boolean' } },
    { min: 0, max: 1, names: 'KEY_ID' },
  );
  if (action !== 'create' && action !== 'list' && action !== 'revoke')
    throw new UsageError(action ? `unknown action "${action}" (create, list or revoke)` : 'missing action');
  const store = await openCliStore(values);
  try {
    if (action === 'create') {
      const name = values.name?.trim();
      if (!name) throw new UsageError('--name is required');
      const tier = (values.tier ?? 'free') as Tier;
      if (!TIERS.includes(tier)) throw new UsageError(`--tier must be free or paid, got "${values.tier}"`);
      const { record, secret } = await store.createKey(name, tier);
      if (values.json) io.out(JSON.stringify({ ...record, secret }));
      else {
        io.out(secret);
        io.err(
          `created ${record.id} (${record.name}, ${record.tier} tier): the key above is shown only once`,
        );
      }
      return 0;
    }
    if (action === 'list') {
      const keys = await store.listKeys();
      if (values.json) io.out(JSON.stringify(keys, null, 2));
      else
        for (const k of keys)
          io.out(
            `${k.id}  ${k.prefix}…  ${k.tier.padEnd(4)}  ${new Date(k.createdAt).toISOString()}  ${k.revokedAt ? 'revoked' : 'active '}  ${k.name}`,
          );
      return 0;
    }
    const id = positionals[0];
    if (!id) throw new UsageError('missing KEY_ID');
    if (!(await store.revokeKey(id))) {
      io.err(`pixtral keys: no active key with id "${id}"`);
      return 1;
    }
    io.err(`revoked ${id}`);
    return 0;
  } finally {
    await store.close();
  }
}
