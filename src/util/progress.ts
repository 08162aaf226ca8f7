// Terminal progress bar with rate and ETA, for any work that takes more than a few seconds.
// Redraws one line in place on a TTY (stderr by default); elsewhere prints a line every few seconds
// and never the same state twice. Rate and ETA come from one clock (performance.now unless given).
// Never throws. Event-style progress for the API lives in the server, not here.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  /** Unit name for the rate, e.g. "tok", "step". */
  unit?: string;
  stream?: ProgressStream | null;
  /** Minimum ms between redraws. */
  intervalMs?: number;
  /** Milliseconds clock for rate and ETA (default performance.now; callers that report a rate of their own pass theirs). */
  now?: () => number;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function fmtRate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(2)}k`;
  if (r >= 10) return r.toFixed(1);
  return r.toFixed(2);
}

export class ProgressBar {
  private done_ = 0;
  private readonly clock: () => number;
  private readonly start: number;
  private lastDraw = -Infinity;
  /** The state last printed (done count + info), so a non-TTY log never repeats a line. */
  private drawn: string | null = null;
  private extra = '';
  private readonly stream: ProgressStream | null;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    const fallback = (globalThis as { process?: { stderr?: ProgressStream } }).process?.stderr ?? null;
    this.stream = opts.stream === undefined ? fallback : opts.stream;
    this.tty = Boolean(this.stream?.isTTY);
    this.clock = opts.now ?? (() => performance.now());
    this.start = this.clock();
  }

  get completed(): number {
    return this.done_;
  }

  /** Adds n units of completed work; `info` is shown after the bar (e.g. "loss 2.31"). */
  tick(n = 1, info?: string): void {
    this.done_ += n;
    if (info !== undefined) this.extra = info;
    const now = this.clock();
    const interval = this.opts.intervalMs ?? (this.tty ? 100 : 5000);
    if (now - this.lastDraw >= interval || this.done_ >= this.opts.total) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  /** Units per second since the bar was created. */
  rate(now = this.clock()): number {
    return this.done_ / Math.max((now - this.start) / 1000, 1e-9);
  }

  /** One-line text of the current state (also used for non-TTY logging and tests). */
  render(now = this.clock()): string {
    const { total, label = '', unit = 'it' } = this.opts;
    const elapsed = Math.max((now - this.start) / 1000, 1e-9);
    const rate = this.rate(now);
    const frac = total > 0 ? Math.min(1, this.done_ / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const eta = rate > 0 ? (total - this.done_) / rate : Infinity;
    const pct = (frac * 100).toFixed(0).padStart(3);
    const head = label ? `${label} ` : '';
    const tail = this.extra ? ` ${this.extra}` : '';
    return `${head}${bar} ${pct}% ${this.done_}/${total} ${fmtRate(rate)} ${unit}/s ETA ${fmtDuration(eta)} elapsed ${fmtDuration(elapsed)}${tail}`;
  }

  private draw(now: number): void {
    if (!this.stream) return;
    const state = `${this.done_}\u0000${this.extra}`;
    if (!this.tty && state === this.drawn) return;
    this.drawn = state;
    try {
      this.stream.write(this.tty ? `\r\x1b[2K${this.render(now)}` : `${this.render(now)}\n`);
    } catch {
      /* a closed stream must never break the work */
    }
  }

  /** Final redraw and newline. */
  finish(info?: string): void {
    if (info !== undefined) this.extra = info;
    this.draw(this.clock());
    if (this.stream && this.tty) {
      try {
        this.stream.write('\n');
      } catch {
        /* ignore */
      }
    }
  }
}
