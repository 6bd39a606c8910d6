// Builds the native kernels (node-gyp, against the Node headers npm's `nodedir` points at — never downloaded).
// A failed build is not fatal: Pixtral TS then runs on the plain-TypeScript reference backend and says so.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.env.PIXTRAL_SKIP_NATIVE) {
  console.warn('pixtral: PIXTRAL_SKIP_NATIVE is set; not building the native kernels');
  process.exit(0);
}
// npm passes its bundled node-gyp to lifecycle scripts; run by hand, use the one next to this Node's npm.
const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = process.env.npm_config_node_gyp || (existsSync(bundled) ? bundled : undefined);
const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
// Never let node-gyp download headers: use npm's nodedir setting (npm passes it to lifecycle scripts).
const nodedir =
  process.env.npm_config_nodedir ||
  spawnSync('npm', ['config', 'get', 'nodedir'], { encoding: 'utf8' }).stdout?.trim().replace(/^(undefined|null)$/, '') ||
  '/usr';
const result = spawnSync(command, [...args, 'rebuild', '--release', '--jobs', 'max', `--nodedir=${nodedir}`], {
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.warn('pixtral: the native kernels did not build; the reference backend (plain TypeScript) will be used');
}
