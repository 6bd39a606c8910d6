/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp dir, start on a free port with fsync off, tear
 * down with an immediate stop. PostgreSQL refuses to run as root, so as root the cluster belongs to the
 * `postgres` OS user (as the Debian package creates it) and its commands run through runuser.
 * Returns {skip} instead of throwing when PostgreSQL is missing or can't start, so suites can report a skip.
 */
import { execFile } from 'node:child_process';
import { chown, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const exec = promisify(execFile);

export interface TestPostgres {
  /** Superuser URL of the `postgres` database, trust auth, no password. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Newest /usr/lib/postgresql/N/bin (Debian layout), else wherever `initdb` is on PATH. */
async function findBinDir(): Promise<string | null> {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? await readdir(root) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const dir = join(root, version, 'bin');
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function postgresUser(): Promise<{ uid: number; gid: number } | null> {
  try {
    const uid = Number((await exec('id', ['-u', 'postgres'])).stdout.trim());
    const gid = Number((await exec('id', ['-g', 'postgres'])).stdout.trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

function errorText(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split('\n').slice(-5).join(' | ');
}

export async function startPostgres(): Promise<TestPostgres | { skip: string }> {
  const bin = await findBinDir();
  if (bin === null)
    return { skip: 'PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or PATH)' };
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresUser() : null;
  if (asRoot && owner === null)
    return { skip: 'running as root and there is no `postgres` OS user to own the cluster' };

  const dir = await mkdtemp(join(tmpdir(), 'pixtral-pg-'));
  const cleanUp = () => rm(dir, { recursive: true, force: true });
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  // The postgres user must be able to write here; the socket directory is the temp dir itself (short path).
  if (owner !== null)
    await chown(dir, owner.uid, owner.gid).catch(async (err: unknown) => {
      await cleanUp();
      throw err;
    });
  const run = (tool: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]]
      : [join(bin, tool), args];
    return exec(file, argv, { cwd: dir, timeout: 60_000 });
  };

  try {
    await run('initdb', [
      '-D',
      dataDir,
      '-A',
      'trust',
      '-U',
      'postgres',
      '--no-sync',
      '-E',
      'UTF8',
      '--locale=C',
    ]);
  } catch (err) {
    await cleanUp();
    return { skip: `initdb failed: ${errorText(err)}` };
  }
  // A free port can be taken between probing and binding; try a few.
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const options = `-F -p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    try {
      // -l: the server must not inherit our stdout, or exec() would wait for it to exit.
      await run('pg_ctl', ['-w', '-D', dataDir, '-l', logFile, '-o', options, 'start']);
    } catch (err) {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      lastError = `${errorText(err)} | ${log.trim().split('\n').slice(-3).join(' | ')}`;
      continue;
    }
    return {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      async stop() {
        await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', 'stop']).catch(() => {});
        await cleanUp();
      },
    };
  }
  await cleanUp();
  return { skip: `PostgreSQL did not start: ${lastError}` };
}

/** Creates database `name` (letters, digits, _) on the cluster of `url` and returns that database's URL. */
export async function createDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name ${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}
