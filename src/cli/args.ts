/** Argument parsing on top of node:util parseArgs, turning its errors into one-line UsageErrors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;
/** Spelled out because declaration files cannot name node:util's internal result types. */
type Parsed<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>
>;

export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  positionals: { min: number; max: number; names: string },
): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({
      args: attachValues(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(readableParseError(err as Error));
  }
  const count = parsed.positionals.length;
  if (count < positionals.min) throw new UsageError(`missing ${positionals.names}`);
  if (count > positionals.max)
    throw new UsageError(`unexpected argument "${parsed.positionals[positionals.max]}"`);
  return parsed;
}

/**
 * Rewrites `--name VALUE` as `--name=VALUE` for string options, so a value may start with '-' (`--text -5`,
 * `--temperature -1`) as with GNU getopt; parseArgs alone refuses those as "ambiguous". The one exception is
 * a value that is itself one of the command's options (`--model --json`): that is a forgotten value, and
 * `--name=--json` still says it on purpose.
 */
function attachValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const name = /^--([^=]+)$/.exec(arg)?.[1];
    const next = argv[i + 1];
    if (
      name === undefined ||
      !Object.hasOwn(options, name) ||
      options[name]!.type !== 'string' ||
      next === undefined
    )
      out.push(arg);
    else if (isOwnOption(next, options)) throw new UsageError(`--${name} needs a value`);
    else {
      out.push(`${arg}=${next}`);
      i++;
    }
  }
  return out;
}

function isOwnOption(arg: string, options: Options): boolean {
  const name = /^--([^=]+)/.exec(arg)?.[1];
  return name !== undefined && (Object.hasOwn(options, name) || name === 'help');
}

/** parseArgs' messages span several lines of advice; keep the first sentence and our own short hint. */
function readableParseError(err: Error): string {
  const missing = /^Option '(--[^ ']+)(?: <value>)?' argument missing/.exec(err.message);
  if (missing) return `${missing[1]} needs a value`;
  const flag = /^Option '(--[^']+)' does not take an argument/.exec(err.message);
  if (flag) return `${flag[1]} does not take a value`;
  const unknown = /^Unknown option '([^']+)'/.exec(err.message);
  if (unknown)
    return unknown[1]!.startsWith('--')
      ? `Unknown option '${unknown[1]}'`
      : `Unknown option '${unknown[1]}' (put -- before an argument that starts with '-')`;
  return err.message.split(/\n|\. /)[0]!.replace(/\.$/, '');
}
