/**
 * Where the Hugging Face hub and its cache are, and who we are to it: every default and environment variable
 * of the model store in one place. The names and the order of precedence are huggingface_hub's
 * (`constants.py`), so a shell set up for `huggingface-cli`, transformers or vLLM points us at the same files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Environment = Readonly<Record<string, string | undefined>>;

export const DEFAULT_ENDPOINT = 'https://huggingface.co';
/** The branch a name without `--revision` means. */
export const DEFAULT_REVISION = 'main';
/** Files fetched at once by one pull (huggingface_hub's snapshot_download uses 8 workers). */
export const DEFAULT_PARALLEL_FILES = 4;

/** Tries per file when a connection drops, and the pause that grows with each. */
export const DOWNLOAD_ATTEMPTS = 3;
export const RETRY_DELAY_MS = 500;

/**
 * How downloads behave. `PIXTRAL_PULL_RETRY_DELAY_MS` shortens the pause (tests); `PIXTRAL_TEST_FAIL_WRITE_AFTER`
 * makes writing past that many bytes of a file fail like a full disk, the only way to test one without a tmpfs.
 */
export function downloadSettings(env: Environment = process.env) {
  const failWriteAfter = env.PIXTRAL_TEST_FAIL_WRITE_AFTER;
  return {
    attempts: DOWNLOAD_ATTEMPTS,
    retryDelayMs: env.PIXTRAL_PULL_RETRY_DELAY_MS ? Number(env.PIXTRAL_PULL_RETRY_DELAY_MS) : RETRY_DELAY_MS,
    ...(failWriteAfter && { failWriteAfter: Number(failWriteAfter) }),
  };
}

/** `$HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function hfHome(env: Environment = process.env): string {
  if (env.HF_HOME) return env.HF_HOME;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
}

/** `$HF_HUB_CACHE` (or its old name `$HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`. */
export function hubCacheDir(env: Environment = process.env): string {
  return env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE || join(hfHome(env), 'hub');
}

/** `$HF_ENDPOINT` for mirrors, without a trailing slash. */
export function hubEndpoint(env: Environment = process.env): string {
  return (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
}

/** `--token`, else `$HF_TOKEN`, else the file `huggingface-cli login` writes (`$HF_TOKEN_PATH` or `$HF_HOME/token`). */
export function hubToken(explicit: string | undefined, env: Environment = process.env): string | null {
  if (explicit) return explicit;
  if (env.HF_TOKEN) return env.HF_TOKEN;
  const file = env.HF_TOKEN_PATH || join(hfHome(env), 'token');
  if (!existsSync(file)) return null;
  return readFileSync(file, 'utf8').trim() || null;
}

/** The project's own store (quantized copies): `$PIXTRAL_HOME/models`, by default `~/.pixtral/models`. */
export function pixtralModelsDir(env: Environment = process.env): string {
  return join(env.PIXTRAL_HOME || join(homedir(), '.pixtral'), 'models');
}
