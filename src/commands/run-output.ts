/** What every command that runs a pipeline shares: Ctrl-C handling and the run summary on stderr. */
import type { EvaluationReport } from '../evaluation/metrics-files.js';
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
  // A resumed run says what it recomputed and why (inputs that changed since they were computed).
  const why = new Map<string, number>();
  for (const c of run.categories) for (const [reason, n] of Object.entries(c.recomputed)) why.set(reason, (why.get(reason) ?? 0) + (n ?? 0));
  const recomputed = [...why.values()].reduce((a, b) => a + b, 0);
  if (recomputed) lines.push(`${recomputed} of them recomputed because their inputs changed: ${[...why].map(([r, n]) => `${r} ${n}`).join(', ')}`);
  const updated = run.categories.reduce((a, c) => a + c.updated, 0);
  if (updated) lines.push(`${updated} record(s) brought up to date without recomputing (mask or paths changed)`);
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

function listSome(items: string[], max = 10): string {
  return items.slice(0, max).join(', ') + (items.length > max ? `, ... (${items.length} in all)` : '');
}

/** What the evaluation left out or found odd, on stderr (all of it is in metrics.json's problems). */
export function printEvaluationWarnings(report: EvaluationReport): void {
  const pr = report.problems;
  const lines: string[] = [];
  if (pr.unreadable.length) {
    lines.push(`warning: ${pr.unreadable.length} test image(s) left out of the evaluation, a file could not be read:`);
    for (const u of pr.unreadable.slice(0, 10)) lines.push(`  ${u.map}: ${u.error}`);
    if (pr.unreadable.length > 10) lines.push(`  ... ${pr.unreadable.length - 10} more (problems.unreadable in metrics.json)`);
  }
  if (pr.missing_maps.length) lines.push(`warning: ${pr.missing_maps.length} map(s) missing: ${listSome(pr.missing_maps)}`);
  if (pr.extra_maps.length) lines.push(`warning: ${pr.extra_maps.length} map file(s) match no test image: ${listSome(pr.extra_maps)}`);
  if (pr.size_mismatch.length) {
    const items = pr.size_mismatch.map(
      (m) => `${m.map} (map ${m.map_size.join('x')}, image ${m.image_size.join('x')}${m.mask_size ? `, mask ${m.mask_size.join('x')}` : ''})`,
    );
    lines.push(`warning: ${items.length} map(s) or mask(s) differ in size from their image, resized like every map: ${listSome(items)}`);
  }
  if (lines.length) process.stderr.write(lines.join('\n') + '\n');
}
