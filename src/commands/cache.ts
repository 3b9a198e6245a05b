import type { Command } from 'commander';
import { resolve } from 'node:path';
import { defaultCacheRoot, DiskCache } from '../util/disk-cache.js';
import { UserError } from '../util/errors.js';
import { maybeWriteJson } from './json-output.js';

function fmtBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  if (b < 1024 ** 2) return `${(b / 1024).toFixed(1)} KiB`;
  if (b < 1024 ** 3) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${(b / 1024 ** 3).toFixed(2)} GiB`;
}

export function register(program: Command): void {
  const cache = program.command('cache').description('the on-disk cache of model outputs (SAM embeddings, detector outputs, RAM logits, LLM answers)');
  cache
    .command('info')
    .description('size of the cache per kind of model output')
    .option('--cache-dir <dir>', 'cache root (default $IAPAS_CACHE or .cache/iapas)')
    .option('--json <file>', 'write the sizes as JSON')
    .action(async (opts: { cacheDir?: string; json?: string }) => {
      const root = opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheRoot();
      const sizes = await new DiskCache(root).size();
      let files = 0;
      let bytes = 0;
      process.stdout.write(`cache: ${root}\n`);
      for (const [ns, s] of [...sizes].sort()) {
        process.stdout.write(`  ${ns.padEnd(20)} ${String(s.files).padStart(7)} entries  ${fmtBytes(s.bytes).padStart(10)}\n`);
        files += s.files;
        bytes += s.bytes;
      }
      process.stdout.write(`  ${'total'.padEnd(20)} ${String(files).padStart(7)} entries  ${fmtBytes(bytes).padStart(10)}\n`);
      const stale = await new DiskCache(root).staleTemps();
      const staleBytes = stale.reduce((a, t) => a + t.bytes, 0);
      if (stale.length) process.stdout.write(`  ${stale.length} temporary file(s) of unfinished writes (${fmtBytes(staleBytes)}): iapas cache clear --stale removes them\n`);
      await maybeWriteJson(opts.json, { root, total: { files, bytes }, namespaces: Object.fromEntries(sizes), stale_temporary: { files: stale.length, bytes: staleBytes } });
    });
  cache
    .command('clear [namespace]')
    .description('delete the cache (or one kind of entry, e.g. sam-embedding); --stale: only temporary files left by killed runs')
    .option('--cache-dir <dir>', 'cache root (default $IAPAS_CACHE or .cache/iapas)')
    .option('--stale', 'remove only the temporary files of writes that never finished (writer gone and over a minute old, or over an hour old)')
    .action(async (namespace: string | undefined, opts: { cacheDir?: string; stale?: boolean }) => {
      const root = opts.cacheDir ? resolve(opts.cacheDir) : defaultCacheRoot();
      const c = new DiskCache(root);
      if (opts.stale) {
        if (namespace) throw new UserError('cache clear --stale takes no namespace (it looks through the whole cache)');
        const r = await c.clearStale();
        process.stdout.write(`removed ${r.files} stale temporary file(s) from ${root} (${fmtBytes(r.bytes)})\n`);
        return;
      }
      const before = await c.size();
      const freed = [...before].filter(([ns]) => !namespace || ns === namespace).reduce((a, [, s]) => a + s.bytes, 0);
      await c.clear(namespace);
      process.stdout.write(`cleared ${namespace ? `'${namespace}' in ` : ''}${root} (${fmtBytes(freed)})\n`);
    });
}
