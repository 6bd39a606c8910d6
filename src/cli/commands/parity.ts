/** `pixtral parity FIXTURE_DIR`: every golden of a fixture set; exit code 1 on any failure. */
import { runParity, type LayoutChoice } from '../../devtools/parity/run-parity.js';
import { selectBackend } from '../../backend/select.js';
import { parseCommandArgs } from '../args.js';
import { BACKEND_OPTIONS, backendSpec } from '../backend-options.js';
import { UsageError } from '../errors.js';
import type { CliIO } from '../io.js';

export async function run(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { layout: { type: 'string' }, ...BACKEND_OPTIONS },
    { min: 1, max: 1, names: 'FIXTURE_DIR' },
  );
  const layout = (values.layout ?? 'both') as LayoutChoice;
  if (!['consolidated', 'hf', 'both'].includes(layout))
    throw new UsageError('--layout must be consolidated, hf or both');
  const spec = backendSpec(values);
  const report = await runParity(positionals[0]!, io.out, layout, () => selectBackend(spec, io.err));
  io.out(report.summary());
  return report.count('fail') > 0 ? 1 : 0;
}
