/**
 * The chart libraries the page loads from vendor/ beside it (their UMD builds: globals vega,
 * vegaLite, vegaEmbed), copied from node_modules so the report opens from file:// with no network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** A package's folder: its "exports" hide build/ from require.resolve, so walk up from its entry point. */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`report: cannot find the folder of package ${name}`);
    dir = up;
  }
}

/** The bundles, in load order: source file and path relative to the report. */
export function vendorFiles(): Array<{ from: string; to: string }> {
  return [
    { from: join(packageDir('vega'), 'build/vega.min.js'), to: 'vendor/vega.min.js' },
    { from: join(packageDir('vega-lite'), 'build/vega-lite.min.js'), to: 'vendor/vega-lite.min.js' },
    { from: join(packageDir('vega-embed'), 'build/vega-embed.min.js'), to: 'vendor/vega-embed.min.js' },
  ];
}
