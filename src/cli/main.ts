/**
 * The `pixtral` command line. Each command is a module under commands/ exporting `run(argv, io)`; errors the
 * user can fix are printed as one readable line with a non-zero exit code, never a stack trace.
 */
import { UsageError } from './errors.js';
import type { CliIO } from './io.js';
import { processIO } from './io.js';
import { endProgressLine } from './progress.js';

interface Command {
  readonly summary: string;
  readonly usage: string;
  load(): Promise<{ run(argv: string[], io: CliIO): Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  chat: {
    summary: 'talk with a model in the terminal (images, documents, history)',
    usage:
      'pixtral chat [--model MODEL [--mmproj FILE.gguf] | --url SERVER [--key KEY] [--model NAME]] [--system STR] [--temperature T] [--top-p P] [--max-tokens N] [--backend auto|native|reference] [--quant none|q8|q4] [--threads N] [--kernels amx|avx512|avx2|portable] [--no-speculation]',
    load: () => import('./commands/chat.js'),
  },
  pull: {
    summary: 'download a model from the Hugging Face Hub into the shared Hugging Face cache',
    usage: 'pixtral pull REPO[:FILE_OR_QUANT] [--revision REV] [--token HF_TOKEN] [--parallel N]',
    load: () => import('./commands/pull.js'),
  },
  list: {
    summary: 'list the models in the Hugging Face cache and their quantized copies',
    usage: 'pixtral list [--json]',
    load: () => import('./commands/list.js'),
  },
  rm: {
    summary: "remove a model's quantized copies (and, with --hf-cache, its Hugging Face snapshot)",
    usage: 'pixtral rm NAME [--hf-cache]',
    load: () => import('./commands/rm.js'),
  },
  inspect: {
    summary: 'show a model folder: layout, config, parameters, dtype, size',
    usage:
      'pixtral inspect MODEL|FILE.gguf [--mmproj FILE.gguf] [--json] [--pull] [--revision REV] [--token HF_TOKEN]',
    load: () => import('./commands/inspect.js'),
  },
  tokenize: {
    summary: 'print the token ids of a text or of a chat-completion request',
    usage:
      'pixtral tokenize [--model MODEL] (--text STR | --request REQUEST.json) [--pieces] [--pull] [--revision REV] [--token HF_TOKEN]',
    load: () => import('./commands/tokenize.js'),
  },
  run: {
    summary: 'answer a prompt (with images) and stream the reply',
    usage:
      'pixtral run [--model MODEL] [--mmproj FILE.gguf] [--pull] [--revision REV] [--token HF_TOKEN] [--image PATH_OR_URL ...] [--file DOC ...] [--system STR] [--max-tokens N] [--temperature T] [--top-p P] [--seed N] [--stop STR ...] [--context N] [--backend auto|native|reference] [--quant none|q8|q4] [--threads N] [--kernels amx|avx512|avx2|portable] [--kv-cache f32|f16|q8] [--no-speculation] [--json] "prompt"',
    load: () => import('./commands/run.js'),
  },
  extract: {
    summary: 'extract table rows from images and PDFs under a JSON schema (csv, xlsx or jsonl; resumable)',
    usage:
      'pixtral extract --schema SCHEMA.json [--prompt STR] [--rows PATH] INPUTS... --out rows.csv|rows.xlsx|rows.jsonl [--model MODEL | --url URL [--key KEY] [--model NAME]] [--concurrency N] [--temperature T] [--max-tokens N] [--pull] [--backend auto|native|reference] [--quant none|q8|q4] [--threads N] [--kernels amx|avx512|avx2|portable] [--kv-cache f32|f16|q8] [--context N]',
    load: () => import('./commands/extract.js'),
  },
  serve: {
    summary: 'serve the Mistral-compatible HTTP API (keys, metering, free tier)',
    usage:
      'pixtral serve [--model MODEL|builtin:tiny | --upstream URL] [--mmproj FILE.gguf] [--pull] [--revision REV] [--token HF_TOKEN] [--host H] [--port P] [--db URL] [--data-dir DIR] [--no-auth] [--no-playground] [--model-name NAME] [--context N] [--max-batch N] [--max-queue N] [--cache-size BYTES] [--free-rpm N] [--free-tpm N] [--free-monthly-tokens N] [--price-input USD] [--price-output USD] [--price-cached USD] [--allow-private-image-urls] [--replica ID] [--log-level LEVEL] [--backend auto|native|reference] [--quant none|q8|q4] [--threads N] [--kernels amx|avx512|avx2|portable] [--kv-cache f32|f16|q8] [--no-speculation]',
    load: () => import('./commands/serve.js'),
  },
  keys: {
    summary: 'create, list and revoke API keys',
    usage:
      'pixtral keys create --name NAME [--tier free|paid] | keys list | keys revoke KEY_ID   [--db URL] [--data-dir DIR] [--json]',
    load: () => import('./commands/keys.js'),
  },
  usage: {
    summary: 'show the usage ledger (tokens and cost per request)',
    usage: 'pixtral usage [--key KEY_ID] [--since DATE] [--csv | --json] [--db URL] [--data-dir DIR]',
    load: () => import('./commands/usage.js'),
  },
  bench: {
    summary: 'benchmark the 12B architecture (random weights) next to llama.cpp',
    usage:
      'pixtral bench --synthetic 12b [--quant q4|q8|q4_k_m] [--threads N] [--kernels LEVEL] [--layers N] [--vision-layers N] [--kv-cache f32|f16|q8] [--weights copy|map] [--gguf FILE] [--llamacpp DIR [--rounds N]] [--tests pp512,pp4096,tg32@0,tg32@4096,tg32 ×8,vision 512²,vision 1024²,ttft 1024²,verify] [--json]',
    load: () => import('./commands/bench.js'),
  },
  export: {
    summary: "write a model as GGUF (text model + mmproj) for llama.cpp's ecosystem",
    usage:
      'pixtral export --gguf MODEL OUT_DIR [--type f32|f16|bf16|q8_0|q4_0] [--pull] [--revision REV] [--token HF_TOKEN]',
    load: () => import('./commands/export.js'),
  },
  quantize: {
    summary: 'write a q8/q4 quantized, memory-mappable copy of a model',
    usage: 'pixtral quantize MODEL --to q8|q4 OUT_DIR [--pull] [--revision REV] [--token HF_TOKEN]',
    load: () => import('./commands/quantize.js'),
  },
  quality: {
    summary: 'compare a quantized model with full precision (top-1 agreement, KL)',
    usage: 'pixtral quality MODEL|builtin:tiny --quant q8|q4 [--baseline none|q8] [--image PATH] [--json]',
    load: () => import('./commands/quality.js'),
  },
  eval: {
    summary: "score a model on the demo model's held-out questions, per question type and precision",
    usage:
      'pixtral eval --task demo [--model MODEL] [--quant none,q8,q4] [--per-task N] [--plot OUT.png] [--backend auto|native|reference] [--threads N] [--json]',
    load: () => import('./commands/eval.js'),
  },
  parity: {
    summary: 'check this engine against a golden fixture set',
    usage: 'pixtral parity FIXTURE_DIR [--layout consolidated|hf|both] [--backend auto|native|reference]',
    load: () => import('./commands/parity.js'),
  },
};

export function usage(): string {
  const lines = ['Usage: pixtral COMMAND [options]', '', 'Commands:'];
  for (const [name, cmd] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${cmd.summary}`);
  lines.push(
    '',
    'MODEL is a folder, builtin:tiny, an alias (pixtral-12b) or org/name[:FILE] from the Hugging Face cache.',
    "Run 'pixtral COMMAND --help' for a command's options.",
  );
  return lines.join('\n');
}

export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`pixtral: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // After '--' everything is an argument: `pixtral run … -- -h` asks about "-h", not for help.
  const end = rest.indexOf('--');
  const flags = end < 0 ? rest : rest.slice(0, end);
  if (flags.includes('--help') || flags.includes('-h')) {
    io.out(`Usage: ${command.usage}`);
    return 0;
  }
  try {
    return await (await command.load()).run(rest, io);
  } catch (err) {
    return reportError(err, name, command.usage, io);
  }
}

function reportError(err: unknown, name: string, commandUsage: string, io: CliIO): number {
  endProgressLine();
  if (err instanceof UsageError) {
    io.err(`pixtral ${name}: ${err.message}\nUsage: ${commandUsage}`);
    return 2;
  }
  if (isUserFacing(err)) {
    io.err(`pixtral ${name}: ${err.message}`);
    return 1;
  }
  // An unexpected failure is a bug: lead with one readable line; PIXTRAL_DEBUG=1 shows the stack.
  io.err(`pixtral ${name}: internal error: ${err instanceof Error ? err.message : String(err)}`);
  if (process.env.PIXTRAL_DEBUG) io.err(String((err as Error)?.stack));
  return 1;
}

/** Errors whose message is written for the user: bad files, images, requests, prompts, fixture sets. */
const USER_FACING = new Set([
  'CliError',
  'CheckpointError',
  'TokenizerFileError',
  'ImageError',
  'ChatValidationError',
  'FixtureError',
  'ContextLengthError',
  'UnsupportedImageUrlError',
  'KvCacheFullError',
  'StoreOpenError',
  'BackendUnavailableError',
  'QuantizeError',
  'HubError',
  'LlamaCppError',
  'GgufError',
]);

function isUserFacing(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  // System errors (ENOENT, EACCES…) carry the path and reason in their message.
  return USER_FACING.has(err.name) || typeof (err as NodeJS.ErrnoException).syscall === 'string';
}
