// `unfold explain`: the library's explain() printed.
import { ExplainOptions, explain } from '@unfold/rnn';
import { FlagSpec, FlagValues, UsageError } from './args';

export const EXPLAIN_FLAGS: Record<string, FlagSpec> = {
  cell: { kind: 'string', help: 'recurrent cell', default: 'rnn', choices: ['rnn', 'lstm', 'gru'] },
  steps: { kind: 'int', help: 'time steps T', default: 3 },
  seed: { kind: 'int', help: 'random seed for weights, inputs and targets', default: 0 },
  fused: { kind: 'bool', help: 'use the fused cell kernel (one record per step)' },
  help: { kind: 'bool', help: 'show this help' },
};

export function explainCommand(f: FlagValues): number {
  const steps = f.steps as number;
  if (steps < 1 || steps > 50) throw new UsageError(`--steps must be in 1…50 (it prints every record), got ${steps}`);
  process.stdout.write(explain({ cell: f.cell as ExplainOptions['cell'], steps, seed: f.seed as number, fused: f.fused === true }));
  return 0;
}

/** For cli/main.ts's COMMANDS table. */
export const EXPLAIN_COMMAND = {
  summary: 'print the tape of a tiny RNN and walk BPTT backwards, record by record',
  flags: EXPLAIN_FLAGS,
  run: explainCommand,
};
