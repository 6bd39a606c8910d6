// `npm run build:prebuild-arm64`: cross-compiles the native kernels for linux-arm64 (glibc) with Debian's
// g++-aarch64-linux-gnu and places them where the loader looks on such a machine
// (prebuilds/linux-arm64-glibc/pixtral_native.node), so `npm pack` ships them. This machine cannot load the
// result: the script checks that it is an AArch64 ELF shared object, and the README marks the binary as untested
// until it runs on an ARM machine. The x86 kernels are behind `#if defined(__x86_64__)`; ARM runs the portable level.
//
// Usage: node scripts/prebuild-arm64.mjs [--out DIR]   (DIR defaults to the project root)
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outAt = process.argv.indexOf('--out');
const out = outAt > 0 ? process.argv[outAt + 1] : root;
const TOOLCHAIN = 'aarch64-linux-gnu';
const AARCH64 = 183; // ELF e_machine

if (spawnSync(`${TOOLCHAIN}-g++`, ['--version']).status !== 0)
  fail(`no ${TOOLCHAIN}-g++ (Debian: apt-get install g++-aarch64-linux-gnu)`);
const gyp = nodeGyp();
const nodedir = process.env.npm_config_nodedir || '/usr';

// node-gyp builds in the folder it is given: a copy, so the project's own build/ (x64) is left alone.
const work = mkdtempSync(join(tmpdir(), 'pixtral-arm64-'));
try {
  cpSync(join(root, 'binding.gyp'), join(work, 'binding.gyp'));
  cpSync(join(root, 'native'), join(work, 'native'), { recursive: true });
  writeFileSync(join(work, 'package.json'), '{"name":"pixtral-native-arm64","version":"0.0.0"}\n');
  cpSync(join(root, 'node_modules', 'node-addon-api'), join(work, 'node_modules', 'node-addon-api'), {
    recursive: true,
  });
  const env = {
    ...process.env,
    CC: `${TOOLCHAIN}-gcc`,
    CXX: `${TOOLCHAIN}-g++`,
    LINK: `${TOOLCHAIN}-g++`,
    AR: `${TOOLCHAIN}-ar`,
  };
  const args = [gyp, 'rebuild', '--arch=arm64', `--nodedir=${nodedir}`, '-j', '2'];
  const result = spawnSync(process.execPath, args, { cwd: work, env, stdio: 'inherit' });
  const built = join(work, 'build', 'Release', 'pixtral_native.node');
  if (result.status !== 0 || !existsSync(built)) fail('the cross-compilation failed');
  const machine = readFileSync(built).readUInt16LE(18);
  if (machine !== AARCH64) fail(`the result is not an AArch64 binary (ELF machine ${machine})`);
  const target = join(out, 'prebuilds', 'linux-arm64-glibc', 'pixtral_native.node');
  mkdirSync(dirname(target), { recursive: true });
  cpSync(built, target);
  console.log(
    `pixtral: prebuilt ${relative(root, target) || target} (${Math.round(statSync(target).size / 1024)} KiB, untested)`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** npm's bundled node-gyp (never downloads anything: headers come from nodedir). */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npmRoot = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm');
  const bundled = join(npmRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (!existsSync(bundled)) fail(`node-gyp not found next to this Node (${bundled})`);
  return bundled;
}

function fail(message) {
  console.error(`pixtral prebuild-arm64: ${message}`);
  process.exit(1);
}
