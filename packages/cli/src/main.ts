#!/usr/bin/env node
// The `unfold` command line: train, sample, eval (and the BPTT teaching tools).
import { TensorError } from '@unfold/tensor';
import { describeError } from './errors';
import { FlagSpec, FlagValues, UsageError, helpText, parseFlags } from './args';
import { TRAIN_FLAGS, trainCommand } from './train';
import { EVAL_FLAGS, SAMPLE_FLAGS, evalCommand, sampleCommand } from './sample';
import { EXPLAIN_COMMAND } from './explain';
import { EXPORT_FLAGS, exportCommand } from './export';
import { GRADFLOW_COMMAND } from './gradflow';

interface Command {
  summary: string;
  flags: Record<string, FlagSpec>;
  run: (f: FlagValues) => number | Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  train: { summary: 'train a character-level language model and write a run report', flags: TRAIN_FLAGS, run: trainCommand },
  sample: { summary: 'generate text from a trained run', flags: SAMPLE_FLAGS, run: sampleCommand },
  eval: { summary: 'test-set loss of a trained run', flags: EVAL_FLAGS, run: evalCommand },
  export: { summary: 'write a trained run as an ONNX model or a safetensors file', flags: EXPORT_FLAGS, run: exportCommand },
  explain: EXPLAIN_COMMAND,
  gradflow: GRADFLOW_COMMAND,
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(10)} ${c.summary}`);
  return `usage: unfold <command> [flags]   (unfold <command> --help for its flags; unfold --version)\n\n${rows.join('\n')}\n`;
}

/** @unfold/cli's version (its package.json sits one folder above src/ and dist/ alike). */
export function version(): string {
  return (require('../package.json') as { version: string }).version;
}

/**
 * Runs one command; resolves with the exit code: 0 done, 1 an error (one line naming it: bad
 * data, a corrupt checkpoint, a full disk, a model too big to allocate), 2 a usage error,
 * 130 / 143 stopped by SIGINT / SIGTERM (after saving). UNFOLD_DEBUG=1 adds the stack trace.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) {
    (cmd === undefined ? process.stderr : process.stdout).write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    process.stdout.write(`unfold ${version()}\n`);
    return 0;
  }
  if (cmd === 'help') return main([rest[0], '--help']);
  const c = COMMANDS[cmd];
  try {
    if (!c) throw new UsageError(cmd.startsWith('-') ? `'${cmd}' before a command (try unfold --help)` : `unknown command '${cmd}'`);
    const flags = parseFlags(rest, c.flags);
    if (flags.help) {
      process.stdout.write(helpText(cmd, c.summary, c.flags));
      return 0;
    }
    return await c.run(flags);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`unfold${c ? ` ${cmd}` : ''}: ${e.message}\n${c ? '' : usage()}`);
      return 2;
    }
    // a TensorError's message starts with its op (`unfold train: …`, `loadCheckpoint: …`)
    process.stderr.write(`${e instanceof TensorError ? 'unfold' : `unfold${c ? ` ${cmd}` : ''}`}: ${describeError(e)}\n`);
    if (process.env.UNFOLD_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`unfold: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
