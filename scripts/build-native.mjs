// Builds the native kernels (node-gyp, against the Node headers npm's `nodedir` points at — never downloaded).
// A failed build is not fatal: Pixtral TS then runs on the plain-TypeScript reference backend and says so.
// With --unless-prebuilt (the install script) nothing is built when the package's prebuilt binary for this
// platform loads — an install from npm needs no compiler — unless PIXTRAL_BUILD_FROM_SOURCE is set.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

if (process.env.PIXTRAL_SKIP_NATIVE) {
  console.warn('pixtral: PIXTRAL_SKIP_NATIVE is set; not building the native kernels');
  process.exit(0);
}
if (process.argv.includes('--unless-prebuilt') && !process.env.PIXTRAL_BUILD_FROM_SOURCE) {
  const prebuilt = await loadablePrebuild();
  if (prebuilt) {
    console.log(`pixtral: using the prebuilt native kernels (${prebuilt}); nothing to build`);
    process.exit(0);
  }
}

/** The prebuild the runtime loader would pick for this machine, if it loads; asked of the loader itself. */
async function loadablePrebuild() {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const loader = join(root, 'dist', 'src', 'backend', 'native', 'addon.js');
  if (!existsSync(loader)) return null; // a git checkout before its first build: build from source
  const { prebuildPath } = await import(pathToFileURL(loader).href);
  const path = prebuildPath(root);
  if (!existsSync(path)) return null;
  try {
    process.dlopen({ exports: {} }, path);
    return path.slice(root.length + 1);
  } catch {
    return null;
  }
}
// npm passes its bundled node-gyp to lifecycle scripts; run by hand, use the one next to this Node's npm.
const bundled = join(
  dirname(process.execPath),
  '..',
  'lib',
  'node_modules',
  'npm',
  'node_modules',
  'node-gyp',
  'bin',
  'node-gyp.js',
);
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
// Never let node-gyp download headers: use npm's nodedir setting (npm passes it to lifecycle scripts).
const nodedir =
  process.env.npm_config_nodedir ||
  spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' })
    .stdout?.trim()
    .replace(/^(undefined|null)$/, '') ||
  '/usr';
const result = spawnSync(
  command,
  [...args, 'rebuild', '--release', '--jobs', 'max', `--nodedir=${nodedir}`],
  {
    stdio: 'inherit',
  },
);
if (result.status !== 0) {
  console.warn(
    'pixtral: the native kernels did not build; the reference backend (plain TypeScript) will be used',
  );
}
