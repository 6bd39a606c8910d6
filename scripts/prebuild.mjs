// `npm run build:prebuild` (not `prebuild`, which npm would run before every `npm run build`): the prebuilt native kernels for this machine's platform, placed where the loader looks
// (prebuilds/<platform>-<arch>[-libc]/pixtral_native.node) and where `npm pack` picks them up.
//
// The binary is the one `npm run build:native` makes (built first when missing, or always with --rebuild): the
// kernels choose their instruction set at run time (no -march=native), so a build on any machine of the
// platform runs on every other. Other platforms need their own machine or a cross toolchain (README).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'build', 'Release', 'pixtral_native.node');
const loader = join(root, 'dist', 'src', 'backend', 'native', 'addon.js');
if (!existsSync(loader))
  fail('run `npm run build` first (the prebuild is placed by the runtime loader’s rule)');

if (process.argv.includes('--rebuild') || !existsSync(built)) {
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
    stdio: 'inherit',
  });
  if (result.status !== 0 || !existsSync(built)) fail('the native kernels did not build');
}
const { prebuildPath } = await import(pathToFileURL(loader).href);
const target = prebuildPath(root);
mkdirSync(dirname(target), { recursive: true });
copyFileSync(built, target);
process.dlopen({ exports: {} }, target); // it must load here, at least
console.log(`pixtral: prebuilt ${relative(root, target)} (${Math.round(statSync(target).size / 1024)} KiB)`);

function fail(message) {
  console.error(`pixtral prebuild: ${message}`);
  process.exit(1);
}
