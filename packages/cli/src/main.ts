#!/usr/bin/env node
// The `unfold` command line: train, sample, eval (and the BPTT teaching tools).
import { TensorError } from '@unfold/tensor';
import { FlagSpec, FlagValues, UsageError, helpText, parseFlags } from './args';
import { TRAIN_FLAGS, trainCommand } from './train';
import { EVAL_FLAGS, SAMPLE_FLAGS, evalCommand, sampleCommand } from './sample';
import { EXPLAIN_COMMAND } from './explain';
import { GRADFLOW_COMMAND } from './gradflow';

interface Command {
  summary: string;
  flags: Record<string, FlagSpec>;
  run: (f: FlagValues) => number;
}

export const COMMANDS: Record<string, Command> = {
  train: { summary: 'train a character-level language model and write a run report', flags: TRAIN_FLAGS, run: trainCommand },
  sample: { summary: 'generate text from a trained run', flags: SAMPLE_FLAGS, run: sampleCommand },
  eval: { summary: 'test-set loss of a trained run', flags: EVAL_FLAGS, run: evalCommand },
  explain: EXPLAIN_COMMAND,
  gradflow: GRADFLOW_COMMAND,
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`);
  return `usage: unfold <command> [flags]   (unfold <command> --help for its flags)\n\n${rows.join('\n')}\n`;
}

export function main(argv: readonly string[]): number {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === 'help') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  const c = COMMANDS[cmd];
  try {
    if (!c) throw new UsageError(`unknown command '${cmd}'`);
    const flags = parseFlags(rest, c.flags);
    if (flags.help) {
      process.stdout.write(helpText(cmd, c.summary, c.flags));
      return 0;
    }
    return c.run(flags);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`unfold${c ? ` ${cmd}` : ''}: ${e.message}\n${c ? '' : usage()}`);
      return 2;
    }
    if (e instanceof TensorError) {
      process.stderr.write(`unfold: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
