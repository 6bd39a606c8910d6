/**
 * `pixtral pull REPO[:FILE_OR_QUANT] [--revision REV] [--token TOKEN]`: a model from the Hugging Face Hub into
 * the shared Hugging Face cache, only the files the engine needs, each verified; an interrupted pull resumes.
 */
import { DEFAULT_PARALLEL_FILES } from '../../hub/hub-settings.js';
import { parseCommandArgs } from '../args.js';
import type { CliIO } from '../io.js';
import { numberOption } from '../options.js';
import { pullWithProgress } from '../pull-model.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { revision: { type: 'string' }, token: { type: 'string' }, parallel: { type: 'string' } },
    { min: 1, max: 1, names: 'REPO (org/name[:FILE_OR_QUANT] or an alias such as pixtral-12b)' },
  );
  const result = await pullWithProgress(
    positionals[0]!,
    {
      ...(values.revision !== undefined && { revision: values.revision }),
      ...(values.token !== undefined && { token: values.token }),
      parallel: numberOption(values.parallel, 'parallel', DEFAULT_PARALLEL_FILES, 1, 32),
    },
    io,
  );
  io.out(result.snapshotDir);
  return 0;
}
