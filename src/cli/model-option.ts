/**
 * `--model NAME` (and the MODEL_DIR positional) for every command: resolved once, here, to a local location
 * (see hub/resolve-model.ts for the order). A hub model missing from the cache is pulled with `--pull`, after
 * a yes on a terminal, and otherwise refused with the `pull` command to run.
 */
import { createInterface } from 'node:readline/promises';
import { withMmproj } from '../checkpoint/gguf/pixtral-gguf.js';
import { DEMO_MODEL_NOTICE } from '../demo/embedded-model.js';
import { DEFAULT_MODEL } from '../engine/model-source.js';
import type { CachedModel } from '../hub/cached-model.js';
import { HubError } from '../hub/hub-errors.js';
import { hubCacheDir } from '../hub/hub-settings.js';
import type { ModelRef } from '../hub/model-ref.js';
import { resolveModel, type ResolvedModel } from '../hub/resolve-model.js';
import type { CliIO } from './io.js';
import { pullWithProgress } from './pull-model.js';

/** The options every command that takes a model accepts besides the name. */
export const MODEL_OPTIONS = {
  /** The vision projector of a GGUF text model kept elsewhere (llama.cpp's `--mmproj`). */
  mmproj: { type: 'string' },
  pull: { type: 'boolean' },
  revision: { type: 'string' },
  token: { type: 'string' },
} as const;

export interface ModelOptionValues {
  readonly mmproj?: string;
  readonly pull?: boolean;
  readonly revision?: string;
  readonly token?: string;
}

/** The model a command runs: the one named, else the embedded demo model (and it says so, once). */
export function modelOrDemo(name: string | undefined, io: CliIO): string {
  if (name !== undefined) return name;
  io.err(DEMO_MODEL_NOTICE);
  return DEFAULT_MODEL;
}

export async function resolveModelOption(
  name: string,
  values: ModelOptionValues,
  io: CliIO,
): Promise<ResolvedModel> {
  const resolved = await resolveNamed(name, values, io);
  if (values.mmproj === undefined) return resolved;
  return { ...resolved, location: withMmproj(resolved.location, values.mmproj) };
}

async function resolveNamed(name: string, values: ModelOptionValues, io: CliIO): Promise<ResolvedModel> {
  const cacheDir = hubCacheDir();
  return resolveModel(name, {
    cacheDir,
    ...(values.revision !== undefined && { revision: values.revision }),
    onMissing: async (ref, revision) => {
      const spelled = name + (revision === 'main' ? '' : ` --revision ${revision}`);
      if (!values.pull && !(await askToPull(spelled, io)))
        throw new HubError(
          'not-cached',
          `${name} is not in the Hugging Face cache (${cacheDir}): run "pixtral pull ${spelled}" first, or add --pull`,
        );
      return pulled(ref, name, revision, values, io);
    },
  });
}

async function pulled(
  ref: ModelRef,
  name: string,
  revision: string,
  values: ModelOptionValues,
  io: CliIO,
): Promise<CachedModel> {
  const result = await pullWithProgress(
    name,
    { revision, ...(values.token !== undefined && { token: values.token }) },
    io,
  );
  return {
    repo: ref.repo,
    commit: result.commit,
    dir: result.snapshotDir,
    layout: result.layout,
    files: result.files.map((f) => f.path),
  };
}

/** On a terminal, asks before a download of gigabytes; without one (scripts, services) never. */
async function askToPull(name: string, io: CliIO): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${name} is not downloaded yet. Pull it now from the hub? [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    io.err('');
    return false;
  } finally {
    prompt.close();
  }
}
