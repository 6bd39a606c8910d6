/**
 * Installing a packed pixtral-ts into a fresh project without the network: the project gets a lockfile made
 * from this repository's own (the runtime dependencies' exact versions and integrity hashes, plus the extra
 * packages asked for), so `npm install --offline` takes every tarball from the npm cache that this
 * repository's `npm ci` filled — and never needs a registry listing, which `npm ci` does not cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

/** Writes package.json and package-lock.json of an app depending on `tarball` (a path relative to `appDir`). */
export function writeOfflineProject(appDir: string, tarball: string, extra: readonly string[]): void {
  const repoLock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const root = repoLock.packages['']!;
  const packages: Record<string, LockEntry> = {};
  for (const [path, entry] of Object.entries(repoLock.packages)) {
    const name = path.replace(/^.*node_modules\//, '');
    if (path === '' || (entry.dev && !extra.includes(name))) continue;
    const kept = { ...entry, ...(entry.devOptional && { optional: true }) };
    delete kept.dev;
    delete kept.devOptional;
    packages[path] = kept;
  }
  const dependencies: Record<string, string> = { 'pixtral-ts': `file:${tarball}` };
  for (const name of extra) dependencies[name] = packages[`node_modules/${name}`]!.version!;
  packages['node_modules/pixtral-ts'] = {
    ...Object.fromEntries(
      [
        'version',
        'license',
        'dependencies',
        'optionalDependencies',
        'peerDependencies',
        'peerDependenciesMeta',
        'bin',
        'engines',
        'hasInstallScript',
      ]
        .filter((key) => root[key] !== undefined)
        .map((key) => [key, root[key]]),
    ),
    resolved: `file:${tarball}`,
  };
  packages[''] = { name: 'app', dependencies };
  const manifest = { name: 'app', private: true, type: 'module', dependencies };
  writeFileSync(join(appDir, 'package.json'), JSON.stringify(manifest, null, 2));
  writeFileSync(
    join(appDir, 'package-lock.json'),
    JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}
