/**
 * Progress on long work. A bar with rate and ETA on an interactive terminal; on a pipe or in CI,
 * a plain line every few seconds so logs stay readable. All output goes to stderr so that
 * stdout stays clean for tables and JSON.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** `status`: a short text shown beside the count (a training loss), kept until replaced. */
  tick(n?: number, status?: string): void;
  stop(): void;
}

// The bar of the work that contains the bars created now (a sweep over its runs), on a terminal.
let outer: cliProgress.MultiBar | undefined;

export function createProgress(label: string, total: number, opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet || process.env.IAPAS_QUIET === '1' || total <= 0) return { tick() {}, stop() {} };
  const start = Date.now();
  if (process.stderr.isTTY) {
    const format = `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}{status}`;
    const group = outer;
    const bar = group
      ? group.create(total, 0, { rate: '0.00', status: '' }, { format })
      : new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
    if (!group) (bar as cliProgress.SingleBar).start(total, 0, { rate: '0.00', status: '' });
    let done = 0;
    return {
      tick(n = 1, status?: string) {
        done += n;
        const rate = done / Math.max((Date.now() - start) / 1000, 1e-3);
        bar.update(done, { rate: rate.toFixed(2), ...(status === undefined ? {} : { status: ` | ${status}` }) });
      },
      stop() {
        if (group) group.remove(bar);
        else bar.stop();
      },
    };
  }
  let done = 0;
  let last = 0;
  let note = '';
  const line = (final: boolean) => {
    const secs = (Date.now() - start) / 1000;
    const rate = done / Math.max(secs, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : 0;
    process.stderr.write(
      `${label}: ${done}/${total} (${rate.toFixed(2)}/s${final ? `, ${secs.toFixed(1)} s` : `, ETA ${eta.toFixed(0)} s`})${note ? ` ${note}` : ''}\n`,
    );
  };
  return {
    tick(n = 1, status?: string) {
      done += n;
      if (status !== undefined) note = status;
      if (Date.now() - last > 5000) {
        last = Date.now();
        line(false);
      }
    },
    stop() {
      line(true);
    },
  };
}

export interface OuterProgress {
  /** Sets how many units are done. */
  update(done: number): void;
  /** A line printed above the bars (or on its own without a terminal). */
  log(line: string): void;
  stop(): void;
}

/**
 * One bar over the work it contains (a sweep's runs): while it lives, bars made by createProgress
 * are drawn under it. Without a terminal, one line per update.
 */
export function createOuterProgress(label: string, total: number, opts: { quiet?: boolean; unit?: string } = {}): OuterProgress {
  const unit = opts.unit ?? 'done';
  if (opts.quiet || process.env.IAPAS_QUIET === '1') return { update() {}, log() {}, stop() {} };
  const start = Date.now();
  if (process.stderr.isTTY && !outer) {
    const group = new cliProgress.MultiBar(
      { stream: process.stderr, hideCursor: true, clearOnComplete: false, format: `${label} [{bar}] {value}/{total} ${unit} | ETA {eta_formatted}` },
      cliProgress.Presets.shades_classic,
    );
    outer = group;
    const bar = group.create(total, 0);
    return {
      update(done) {
        bar.update(done);
      },
      log(line) {
        group.log(line.endsWith('\n') ? line : line + '\n');
      },
      stop() {
        group.stop();
        if (outer === group) outer = undefined;
      },
    };
  }
  let first: { at: number; done: number } | undefined;
  let shown: { at: number; done: number } | undefined;
  return {
    update(done) {
      first ??= { at: Date.now(), done };
      // A line when something finished, else one a minute (a queued sweep polls often).
      if (shown && shown.done === done && Date.now() - shown.at < 60_000) return;
      shown = { at: Date.now(), done };
      const secs = (Date.now() - first.at) / 1000;
      const rate = (done - first.done) / Math.max(secs, 1e-3);
      const eta = rate > 0 ? `, ETA ${((total - done) / rate).toFixed(0)} s` : '';
      process.stderr.write(`${label}: ${done}/${total} ${unit} (${((Date.now() - start) / 1000).toFixed(1)} s${eta})\n`);
    },
    log(line) {
      process.stderr.write(line.endsWith('\n') ? line : line + '\n');
    },
    stop() {},
  };
}

/** Accumulates wall time per named step, for the per-stage summary at the end of a run. */
export class StageTimer {
  readonly totals = new Map<string, { ms: number; calls: number }>();

  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      const e = this.totals.get(name) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      this.totals.set(name, e);
    }
  }

  summary(): Record<string, { total_ms: number; calls: number; ms_per_call: number }> {
    const out: Record<string, { total_ms: number; calls: number; ms_per_call: number }> = {};
    for (const [k, v] of this.totals) out[k] = { total_ms: Math.round(v.ms), calls: v.calls, ms_per_call: +(v.ms / v.calls).toFixed(1) };
    return out;
  }
}
