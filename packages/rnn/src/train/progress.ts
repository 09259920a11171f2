/**
 * Progress: a live bar on a TTY (rewritten in place with \r), plain periodic lines otherwise
 * (CI, pipes, log files), nothing with 'none'.
 */
export type LogMode = 'auto' | 'bar' | 'lines' | 'none';

export interface ProgressInfo {
  step: number;
  total?: number;
  loss: number;
  /** Bits per unit (loss / ln 2) for language models. */
  bits?: number;
  stepsPerSec: number;
  etaSec?: number;
  extra?: string;
}

/** What fit reports progress to: the built-in Progress below, or your own (a page draws a curve from `update`). */
export interface ProgressReporter {
  update(p: ProgressInfo): void;
  /** A line of its own: validation results, early stopping. */
  note(line: string): void;
  done(): void;
}

/** Where the built-in reporter writes: a terminal stream (Node's process.stderr fits) or anything with `write`. */
export interface TextSink {
  write(s: string): unknown;
  isTTY?: boolean;
  /** Terminal width (Node's TTY streams have it): the live bar is cut to fit, so it never wraps and leaves stale rows. */
  columns?: number;
}

/**
 * The default sink: the host's stderr stream where there is one (Node), else the console,
 * one call per line (a browser's console has no carriage return to redraw a bar with).
 */
export function defaultSink(): TextSink {
  const p = (globalThis as { process?: { stderr?: TextSink } }).process;
  if (p?.stderr && typeof p.stderr.write === 'function') return p.stderr;
  let buf = '';
  const c = (globalThis as { console?: { log(s: string): void } }).console;
  return {
    write(s: string) {
      buf += s;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        c?.log(buf.slice(0, i).replace(/^.*\r/, ''));
        buf = buf.slice(i + 1);
      }
    },
  };
}

export class Progress implements ProgressReporter {
  private lastLine = 0;
  private readonly mode: Exclude<LogMode, 'auto'>;
  private readonly out: TextSink;

  constructor(mode: LogMode, private readonly every: number, out?: TextSink) {
    this.out = out ?? defaultSink();
    this.mode = mode === 'auto' ? (this.out.isTTY ? 'bar' : 'lines') : mode;
  }

  update(p: ProgressInfo): void {
    if (this.mode === 'none') return;
    const text = formatProgress(p);
    if (this.mode === 'bar') {
      const frac = p.total ? Math.min(1, p.step / p.total) : 0;
      const width = 24;
      const done = Math.round(frac * width);
      const bar = p.total ? `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}] ` : '';
      this.out.write(`\r${fitWidth(bar, text, this.out.columns)}\x1b[K`);
    } else if (p.step - this.lastLine >= this.every || p.step === p.total || p.step === 1) {
      this.lastLine = p.step;
      this.out.write(`${text}\n`);
    }
  }

  /** A line of its own (validation results, checkpoints), keeping the bar below it. */
  note(line: string): void {
    if (this.mode === 'none') return;
    this.out.write(this.mode === 'bar' ? `\r\x1b[K${line}\n` : `${line}\n`);
  }

  done(): void {
    if (this.mode === 'bar') this.out.write('\n');
  }
}

export function formatProgress(p: ProgressInfo): string {
  const parts = [`step ${p.step}${p.total ? `/${p.total}` : ''}`, `loss ${p.loss.toFixed(4)}`];
  if (p.bits !== undefined) parts.push(`${p.bits.toFixed(3)} bpc`);
  parts.push(`${p.stepsPerSec.toFixed(2)} steps/s`);
  if (p.etaSec !== undefined && Number.isFinite(p.etaSec)) parts.push(`ETA ${formatDuration(p.etaSec)}`);
  if (p.extra) parts.push(p.extra);
  return parts.join('  ');
}

/** m:ss below an hour, h:mm:ss from there. */
export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const m = Math.floor(s / 60);
  const ss = String(s % 60).padStart(2, '0');
  return m < 60 ? `${m}:${ss}` : `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}:${ss}`;
}

/**
 * The bar line cut to `columns − 1` characters (the last column would wrap on some terminals):
 * the bar goes first, then trailing fields of the text, then the text is cut.
 */
export function fitWidth(bar: string, text: string, columns: number | undefined): string {
  if (!columns || columns < 2) return bar + text;
  const max = columns - 1;
  if ([...bar].length + [...text].length <= max) return bar + text;
  const fields = text.split('  ');
  while (fields.length > 1 && [...fields.join('  ')].length > max) fields.pop();
  const t = [...fields.join('  ')];
  return t.length > max ? t.slice(0, max).join('') : t.join('');
}
