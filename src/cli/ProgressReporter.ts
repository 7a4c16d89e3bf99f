/**
 * Shows progress of long work: a redrawn bar on a TTY, plain throttled lines otherwise
 * (logs, CI), nothing at all in `--json` mode (stdout stays machine-readable; progress goes to
 * stderr).
 */
export class ProgressReporter {
  private readonly stream: NodeJS.WriteStream;
  private readonly mode: 'bar' | 'lines' | 'silent';
  private label = '';
  private total: number | undefined;
  private startedAt = 0;
  private lastPrint = 0;
  private lastDone = 0;

  constructor(stream: NodeJS.WriteStream, options: { silent?: boolean } = {}) {
    this.stream = stream;
    this.mode = options.silent ? 'silent' : stream.isTTY ? 'bar' : 'lines';
  }

  start(label: string, total?: number): void {
    this.label = label;
    this.total = total;
    this.startedAt = Date.now();
    this.lastPrint = 0;
    this.lastDone = 0;
  }

  update(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    this.lastDone = done;
    const now = Date.now();
    const interval = this.mode === 'bar' ? 100 : 2000;
    if (now - this.lastPrint < interval) return;
    this.lastPrint = now;
    this.print(false);
  }

  /** Ends a progress display that did not complete (error, cancel): no "done" line. */
  abandon(): void {
    if (this.mode === 'bar' && this.label !== '') this.stream.write('\n');
    this.label = '';
  }

  finish(): void {
    if (this.mode === 'silent' || this.label === '') return;
    this.print(true);
    this.label = '';
  }

  private print(final: boolean): void {
    if (this.mode === 'silent') return;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const rate = elapsed > 0 ? this.lastDone / elapsed : 0;
    const total = this.total;
    const parts = [`${this.label}: ${this.lastDone}${total !== undefined ? `/${total}` : ''}`];
    if (rate > 0) parts.push(`${formatRate(rate)}/s`);
    if (total !== undefined && rate > 0 && !final) parts.push(`ETA ${formatSeconds((total - this.lastDone) / rate)}`);
    if (final) parts.push(`done in ${formatSeconds(elapsed)}`);
    if (this.mode === 'bar') {
      const width = 24;
      const share = total ? Math.min(1, this.lastDone / total) : 0;
      const filled = Math.round(share * width);
      const bar = total ? `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` : '';
      this.stream.write(`\r\x1b[2K${bar}${parts.join('  ')}${final ? '\n' : ''}`);
    } else {
      this.stream.write(`${parts.join('  ')}\n`);
    }
  }
}

export function formatRate(rate: number): string {
  return rate >= 100 ? Math.round(rate).toLocaleString('en-US') : rate.toFixed(1);
}

export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Math.round(seconds % 60)}s`;
}
