/** Runs the built `pixtral` CLI in a child process, as a user would. */
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function pixtral(args: string[], timeoutMs = 120_000, env: Record<string, string> = {}): CliResult {
  const result = spawnSync(process.execPath, [resolve('bin/pixtral.js'), ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, PIXTRAL_DEBUG: '', ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like `pixtral`, without blocking the event loop: for tests whose CLI talks to a server in this process. */
export function pixtralAsync(
  args: string[],
  timeoutMs = 120_000,
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolveResult) => {
    execFile(
      process.execPath,
      [resolve('bin/pixtral.js'), ...args],
      { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, PIXTRAL_DEBUG: '', ...env } },
      (err, stdout, stderr) => {
        const status = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolveResult({ status, stdout, stderr });
      },
    );
  });
}
