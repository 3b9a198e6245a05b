/** What every command that runs a pipeline shares: Ctrl-C handling and the run summary on stderr. */
import type { RunSummary } from '../pipeline/runner.js';

/** Ctrl-C stops scheduling new images; finished images are on disk, so `--resume` continues. */
export function abortOnSigint(): { signal: AbortSignal; dispose(): void } {
  const ctl = new AbortController();
  const handler = () => {
    if (ctl.signal.aborted) process.exit(130);
    process.stderr.write('\ninterrupted: finishing the images in flight (Ctrl-C again to quit now)\n');
    ctl.abort(new Error('interrupted'));
  };
  process.on('SIGINT', handler);
  return { signal: ctl.signal, dispose: () => process.off('SIGINT', handler) };
}

export function printRunSummary(run: RunSummary): void {
  const images = run.categories.reduce((a, c) => a + c.computed, 0);
  const skipped = run.categories.reduce((a, c) => a + c.skipped, 0);
  const lines = [`${images} image(s) computed, ${skipped} already complete, ${run.wallSeconds} s`];
  lines.push('time per stage:');
  for (const [name, t] of Object.entries(run.timing)) {
    lines.push(`  ${name.padEnd(16)} ${String(t.calls).padStart(6)} calls  ${t.ms_per_call.toFixed(1).padStart(9)} ms/call  ${(t.total_ms / 1000).toFixed(1).padStart(7)} s`);
  }
  const cache = Object.entries(run.cache);
  const runs = Object.entries(run.modelRuns);
  if (runs.length) lines.push(`model runs: ${runs.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (cache.length) {
    lines.push('model-output cache:');
    for (const [ns, c] of cache) lines.push(`  ${ns.padEnd(16)} ${c.hits} hit(s), ${c.misses} miss(es)`);
  }
  if (run.failed.length) {
    lines.push(`WARNING: ${run.failed.length} image(s) left out because of bad input (listed in failed.json; --resume retries them):`);
    for (const f of run.failed.slice(0, 10)) lines.push(`  ${f.category}/${f.relId}: ${f.error}`);
    if (run.failed.length > 10) lines.push(`  ... ${run.failed.length - 10} more`);
  }
  process.stderr.write(lines.join('\n') + '\n');
}
