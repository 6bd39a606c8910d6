/**
 * `npm run bench -- [NAME ...]`: runs the named benchmarks (all when none is given) and prints their tables.
 * Speed is measured here, never asserted by tests.
 */
const BENCHES: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  tokenizer: () => import('./tokenizer.js'),
  engine: () => import('./engine.js'),
  server: () => import('./server.js'),
  fuzz: () => import('./fuzz.js'),
  soak: () => import('./soak.js'),
  grammar: () => import('./grammar.js'),
};

const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const options = args.filter((a) => a.startsWith('--'));
const selected = names.length ? names : Object.keys(BENCHES);
for (const name of selected) {
  const load = BENCHES[name];
  if (!load) {
    console.error(`unknown benchmark "${name}" (have: ${Object.keys(BENCHES).join(', ')})`);
    process.exitCode = 2;
    break;
  }
  await (await load()).run(options);
}
