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

export class Progress {
  private lastLine = 0;
  private readonly mode: Exclude<LogMode, 'auto'>;

  constructor(mode: LogMode, private readonly every: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.mode = mode === 'auto' ? (out.isTTY ? 'bar' : 'lines') : mode;
  }

  update(p: ProgressInfo): void {
    if (this.mode === 'none') return;
    const text = formatProgress(p);
    if (this.mode === 'bar') {
      const frac = p.total ? Math.min(1, p.step / p.total) : 0;
      const width = 24;
      const done = Math.round(frac * width);
      const bar = p.total ? `[${'='.repeat(Math.max(0, done - 1))}${done > 0 ? '>' : ''}${' '.repeat(width - done)}] ` : '';
      this.out.write(`\r${bar}${text}\x1b[K`);
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

export function formatDuration(sec: number): string {
  const s = Math.max(0, Math.round(sec));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}
