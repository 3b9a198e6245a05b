/**
 * Progress on long work. A bar with rate and ETA on an interactive terminal; on a pipe or in CI,
 * a plain line every few seconds so logs stay readable. All output goes to stderr so that
 * stdout stays clean for tables and JSON.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

export function createProgress(label: string, total: number, opts: { quiet?: boolean } = {}): Progress {
  if (opts.quiet || process.env.IAPAS_QUIET === '1' || total <= 0) return { tick() {}, stop() {} };
  const start = Date.now();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.00' });
    let done = 0;
    return {
      tick(n = 1) {
        done += n;
        const rate = done / Math.max((Date.now() - start) / 1000, 1e-3);
        bar.update(done, { rate: rate.toFixed(2) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let done = 0;
  let last = 0;
  const line = (final: boolean) => {
    const secs = (Date.now() - start) / 1000;
    const rate = done / Math.max(secs, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : 0;
    process.stderr.write(
      `${label}: ${done}/${total} (${rate.toFixed(2)}/s${final ? `, ${secs.toFixed(1)} s` : `, ETA ${eta.toFixed(0)} s`})\n`,
    );
  };
  return {
    tick(n = 1) {
      done += n;
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
