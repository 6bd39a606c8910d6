/**
 * Running llama.cpp's own tools from a build folder (`llama-bench` for text, `llama-mtmd-cli` for the vision
 * encoder) and reading their figures: tokens per second from llama-bench's JSON, the encode time from mtmd's
 * "batch encoding done in N ms" log line, and peak RSS through GNU time where the machine has it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class LlamaCppError extends Error {
  override name = 'LlamaCppError';
}

export interface LlamaCppBuild {
  readonly bench: string;
  readonly mtmd: string | null;
  readonly quantize: string | null;
}

const GNU_TIME = '/usr/bin/time';

/** The tools in a llama.cpp build folder (the folder itself, its bin/, or build/bin/). */
export function findLlamaCpp(dir: string): LlamaCppBuild {
  for (const bin of [dir, join(dir, 'bin'), join(dir, 'build', 'bin')]) {
    const bench = join(bin, 'llama-bench');
    if (existsSync(bench)) {
      const tool = (name: string) => (existsSync(join(bin, name)) ? join(bin, name) : null);
      return { bench, mtmd: tool('llama-mtmd-cli'), quantize: tool('llama-quantize') };
    }
  }
  throw new LlamaCppError(`${dir}: no llama-bench here, in bin/ or in build/bin/ (build llama.cpp first)`);
}

export interface LlamaRun {
  readonly value: number;
  /** Peak resident memory of the run, when GNU time is there to measure it. */
  readonly peakRssGB: number | null;
  /** What llama.cpp says of the machine (llama-bench's cpu_info and backends). */
  readonly about: string;
}

/** Runs a tool (under GNU time when present) and returns its output and peak RSS. */
function runTool(tool: string, args: readonly string[]) {
  const scratch = mkdtempSync(join(tmpdir(), 'pixtral-llamacpp-'));
  const rssFile = join(scratch, 'rss');
  const timed = existsSync(GNU_TIME);
  const result = timed
    ? spawnSync(GNU_TIME, ['-f', '%M', '-o', rssFile, tool, ...args], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
      })
    : spawnSync(tool, [...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
  try {
    if (result.error) throw new LlamaCppError(`${tool}: ${result.error.message}`);
    if (result.status !== 0) {
      const tail = `${result.stderr}`.trim().split('\n').slice(-3).join(' / ');
      throw new LlamaCppError(`${tool} exited with ${result.status}: ${tail}`);
    }
    const kb =
      timed && existsSync(rssFile) ? Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()) : NaN;
    return {
      stdout: result.stdout,
      stderr: result.stderr,
      peakRssGB: Number.isFinite(kb) ? (kb * 1024) / 1e9 : null,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

export interface TextTestShape {
  readonly prompt: number;
  readonly generate: number;
  readonly depth: number;
}

/** One llama-bench measurement (one repetition: rounds are interleaved by the caller). */
export function runLlamaBench(
  build: LlamaCppBuild,
  model: string,
  shape: TextTestShape,
  threads: number,
): LlamaRun {
  const args = ['-m', model, '-t', String(threads), '-o', 'json', '-r', '1'];
  args.push('-p', String(shape.prompt), '-n', String(shape.generate), '-d', String(shape.depth));
  const { stdout, peakRssGB } = runTool(build.bench, args);
  let rows: unknown;
  try {
    rows = JSON.parse(stdout.slice(stdout.indexOf('[')));
  } catch {
    throw new LlamaCppError(`${build.bench}: its output is not llama-bench JSON`);
  }
  const row = Array.isArray(rows) ? (rows[0] as Record<string, unknown> | undefined) : undefined;
  const value = Number(row?.avg_ts);
  if (!row || !Number.isFinite(value) || value <= 0)
    throw new LlamaCppError(`${build.bench}: no tokens-per-second figure (avg_ts) in its JSON`);
  return { value, peakRssGB, about: `${String(row.cpu_info ?? '?')}, ${String(row.backends ?? '?')}` };
}

/** `llama-quantize --allow-requantize IN OUT TYPE`: a llama.cpp-made file of another type (Q4_K_M…), once. */
export function llamaQuantize(build: LlamaCppBuild, input: string, output: string, type: string): void {
  if (!build.quantize) throw new LlamaCppError(`no llama-quantize beside ${build.bench}`);
  if (existsSync(output)) return;
  const partial = `${output}.partial-${process.pid}`;
  try {
    runTool(build.quantize, ['--allow-requantize', input, partial, type]);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  renameSync(partial, output);
}

/** Seconds llama.cpp's vision encoder takes for one image (its own log line, load and warm-up excluded). */
export function runLlamaVision(
  build: LlamaCppBuild,
  files: { text: string; mmproj: string; image: string },
  threads: number,
): LlamaRun {
  if (!build.mtmd) throw new LlamaCppError(`no llama-mtmd-cli beside ${build.bench}`);
  // llama.cpp caps Pixtral images at 1024 tokens (512²) unless told otherwise: 4096 lets 1024² through whole.
  const args = [
    '-m',
    files.text,
    '--mmproj',
    files.mmproj,
    '--image',
    files.image,
    '-p',
    'Describe the image.',
  ];
  args.push('-n', '1', '-t', String(threads), '-c', '8192', '--temp', '0', '--chat-template', 'mistral-v7');
  args.push('--image-max-tokens', '4096');
  const { stdout, stderr, peakRssGB } = runTool(build.mtmd, args);
  const match = /batch encoding done in (\d+) ms/.exec(`${stderr}\n${stdout}`);
  if (!match) throw new LlamaCppError(`${build.mtmd}: no "batch encoding done in N ms" line in its log`);
  return { value: Number(match[1]) / 1000, peakRssGB, about: 'llama-mtmd-cli' };
}
