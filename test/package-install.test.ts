/**
 * The package as a user gets it: `npm pack`, installed into a fresh project offline (from the npm cache this
 * repository's install filled) with no compiler on PATH, then an application — and the README's examples —
 * type-checked against the published types and run: the prebuilt native kernels load, an answer about an
 * image streams, a receipt comes back as a zod-typed object, and an AbortSignal cancels a generation.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeOfflineProject } from './helpers/offline-install.js';

const REPO = resolve('.');
const NPM_CLI = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

function run(command: string, args: string[], options: SpawnSyncOptions): string {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${output.slice(-3000)}`);
  return output;
}

describe('the packed package, installed without a compiler', () => {
  let work: string;
  let app: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'pixtral-pack-'));
    app = join(work, 'app');
    mkdirSync(app);
    // A PATH with node, npm and a shell, and no g++, cc, make or python.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(NPM_CLI, join(bin, 'npm'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    env = { ...process.env, PATH: bin };
    for (const key of Object.keys(env))
      if (key.startsWith('npm_') && key !== 'npm_config_cache') delete env[key];
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('packs with this platform’s prebuilt kernels, installs offline and runs a typed app', () => {
    run(process.execPath, ['scripts/prebuild.mjs'], { cwd: REPO });
    const packed = JSON.parse(
      run(process.execPath, [NPM_CLI, 'pack', '--ignore-scripts', '--json', '--pack-destination', work], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    ) as [{ filename: string; size: number; files: { path: string }[] }];
    const paths = packed[0].files.map((f) => f.path);
    assert.ok(paths.some((p) => p.startsWith('prebuilds/linux-x64-glibc/')) || process.platform !== 'linux');
    assert.ok(!paths.some((p) => p.startsWith('dist/test/') || p.startsWith('test/')), 'no tests');
    // The embedded demo model (~15 MB of bf16 weights, the library's default) is most of the package.
    assert.ok(paths.includes('models/pixtral-demo/consolidated.safetensors'), 'the demo model ships');
    assert.ok(
      paths.includes('dist/web/playground.js') && paths.includes('dist/web/index.html'),
      'the playground ships',
    );
    assert.ok(packed[0].size < 16_000_000, `tarball of ${packed[0].size} bytes`);

    writeOfflineProject(app, `../${packed[0].filename}`, ['zod']);
    assert.equal(spawnSync('g++', ['--version'], { env }).error?.message.includes('ENOENT'), true);
    const install = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], {
      cwd: app,
      env,
    });
    assert.match(install, /using the prebuilt native kernels/);
    assert.ok(!existsSync(join(app, 'node_modules', 'pixtral-ts', 'build')), 'nothing was compiled');

    // The app and the README's examples, checked against the published types.
    cpSync(join(REPO, 'test', 'package-install', 'app.ts'), join(app, 'app.ts'));
    cpSync(join(REPO, 'examples', 'library'), join(app, 'examples'), { recursive: true });
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          types: ['node'],
          typeRoots: [join(REPO, 'node_modules', '@types')],
          outDir: 'out',
          noEmitOnError: true,
        },
        include: ['app.ts', 'examples/*.ts'],
      }),
    );
    run('node', [TSC, '-p', '.'], { cwd: app, env });

    const line = run('node', ['out/app.js'], { cwd: app, env }).trim().split('\n').pop()!;
    const result = JSON.parse(line) as Record<string, unknown>;
    assert.match(String(result.backend), /^native/, 'the prebuilt kernels loaded');
    assert.deepEqual(result.warnings, []);
    assert.ok(Number(result.deltas) > 0 && String(result.streamed).length > 0, 'an answer streamed');
    assert.deepEqual(Object.keys(result.receipt as object).sort(), ['merchant', 'paid', 'totalCents']);
    assert.equal(result.aborted, 'aborted');
  });
});
