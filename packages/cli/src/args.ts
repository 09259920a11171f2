/**
 * A small, strict flag parser: `--name value`, `--name=value`; booleans as `--flag`,
 * `--flag true|false`, `--flag=false` or `--no-flag`; `-h` for --help; `--` ends the flags.
 * A command may take one positional argument that fills a flag (`unfold sample runs/x` =
 * `--run runs/x`). Unknown flags, missing values and values of the wrong kind (`--hidden 1e2`
 * is not an integer) are errors (exit code 2), never silently ignored.
 */
export type FlagKind = 'string' | 'int' | 'number' | 'bool';
export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
  /** This flag may also be given as the command's one positional argument. */
  positional?: boolean;
}
export type FlagValues = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const GIVEN = new WeakMap<FlagValues, Set<string>>();

/** The flags the user typed (as opposed to defaults), for parseFlags' result. */
export function givenFlags(f: FlagValues): ReadonlySet<string> {
  return GIVEN.get(f) ?? new Set();
}

export function parseFlags(argv: readonly string[], spec: Record<string, FlagSpec>): FlagValues {
  const out: FlagValues = {};
  const given = new Set<string>();
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  const set = (name: string, v: string | number | boolean): void => {
    given.add(name); // given twice: the last one wins, as in most command lines
    out[name] = v;
  };
  const positionals: string[] = [];
  let flagsDone = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (flagsDone || !a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    if (a === '--') {
      flagsDone = true;
      continue;
    }
    if (a === '-h') {
      set('help', true);
      continue;
    }
    if (!a.startsWith('--')) throw new UsageError(`unknown flag ${a} (flags are spelled --name; see --help)`);
    const eq = a.indexOf('=');
    let name = a.slice(2, eq < 0 ? undefined : eq);
    let s = spec[name];
    if (!s && name.startsWith('no-') && spec[name.slice(3)]?.kind === 'bool') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      name = name.slice(3);
      set(name, false);
      continue;
    }
    if (!s) throw new UsageError(`unknown flag --${name} (see --help)`);
    let raw: string;
    if (eq >= 0) raw = a.slice(eq + 1);
    else if (s.kind === 'bool') raw = argv[i + 1] === 'true' || argv[i + 1] === 'false' ? argv[++i] : 'true';
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      raw = argv[++i];
    }
    s = spec[name];
    set(name, convert(name, s, raw));
  }
  const slot = Object.entries(spec).find(([, s]) => s.positional)?.[0];
  if (positionals.length > (slot ? 1 : 0)) {
    throw new UsageError(slot ? `unexpected argument '${positionals[1]}' (takes one <${slot}>)` : `unexpected argument '${positionals[0]}'`);
  }
  if (slot && positionals.length === 1) {
    if (given.has(slot)) throw new UsageError(`<${slot}> given twice: '${positionals[0]}' and --${slot} ${String(out[slot])}`);
    set(slot, convert(slot, spec[slot], positionals[0]));
  }
  GIVEN.set(out, given);
  return out;
}

function convert(name: string, s: FlagSpec, raw: string): string | number | boolean {
  switch (s.kind) {
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} takes true or false, got '${raw}'`);
      return raw === 'true';
    case 'int': {
      // digits only: '1e2', '0x10', '2.0' and '' are errors, not 100, 16, 2 and 0
      if (!/^[+-]?\d+$/.test(raw)) throw new UsageError(`--${name} takes an integer, got '${raw}'`);
      const v = Number(raw);
      if (!Number.isSafeInteger(v)) throw new UsageError(`--${name} is too large: ${raw}`);
      return v;
    }
    case 'number': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} takes a number, got '${raw}'`);
      return v;
    }
    default:
      if (s.choices && !s.choices.includes(raw)) throw new UsageError(`--${name} must be one of ${s.choices.join(', ')}, got '${raw}'`);
      return raw;
  }
}

export function helpText(cmd: string, summary: string, spec: Record<string, FlagSpec>): string {
  const slot = Object.entries(spec).find(([, s]) => s.positional)?.[0];
  const rows = Object.entries(spec).map(([k, s]) => {
    const head = `  ${k === 'help' ? '-h, ' : ''}--${k}${s.kind === 'bool' ? '' : ` <${s.choices ? s.choices.join('|') : s.kind}>`}`;
    const dflt = s.default !== undefined ? ` (default ${String(s.default)})` : '';
    return `${head.padEnd(34)} ${s.help}${dflt}`;
  });
  const usage = `usage: unfold ${cmd} [flags]${slot ? ` [<${slot}>]` : ''}`;
  const bools = Object.values(spec).some((s) => s.kind === 'bool' && s !== spec.help) ? '\nBoolean flags also take true/false (--flag false) or --no-flag.' : '';
  return `unfold ${cmd} — ${summary}\n${usage}\n\n${rows.join('\n')}\n${bools}${bools ? '\n' : ''}`;
}
