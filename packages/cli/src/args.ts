/**
 * A small, strict flag parser: `--name value`, `--name=value`, `--flag` for booleans.
 * Unknown flags, missing values and values of the wrong kind are errors (exit code 2),
 * never silently ignored.
 */
export type FlagKind = 'string' | 'int' | 'number' | 'bool';
export interface FlagSpec {
  kind: FlagKind;
  help: string;
  default?: string | number | boolean;
  choices?: readonly string[];
}
export type FlagValues = Record<string, string | number | boolean | undefined>;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseFlags(argv: readonly string[], spec: Record<string, FlagSpec>): FlagValues {
  const out: FlagValues = {};
  for (const [k, s] of Object.entries(spec)) if (s.default !== undefined) out[k] = s.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const s = spec[name];
    if (!s) throw new UsageError(`unknown flag --${name} (see --help)`);
    let raw: string;
    if (s.kind === 'bool' && eq < 0) raw = 'true';
    else if (eq >= 0) raw = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
      raw = argv[++i];
    }
    out[name] = convert(name, s, raw);
  }
  return out;
}

function convert(name: string, s: FlagSpec, raw: string): string | number | boolean {
  switch (s.kind) {
    case 'bool':
      if (raw !== 'true' && raw !== 'false') throw new UsageError(`--${name} takes true or false, got '${raw}'`);
      return raw === 'true';
    case 'int': {
      const v = Number(raw);
      if (raw.trim() === '' || !Number.isInteger(v)) throw new UsageError(`--${name} takes an integer, got '${raw}'`);
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
  const rows = Object.entries(spec).map(([k, s]) => {
    const head = `  --${k}${s.kind === 'bool' ? '' : ` <${s.choices ? s.choices.join('|') : s.kind}>`}`;
    const dflt = s.default !== undefined ? ` (default ${String(s.default)})` : '';
    return `${head.padEnd(34)} ${s.help}${dflt}`;
  });
  return `unfold ${cmd} — ${summary}\n\n${rows.join('\n')}\n`;
}
