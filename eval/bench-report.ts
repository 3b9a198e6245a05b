/**
 * `iapas report` at scale: generates R runs x C categories x I images (default 10 x 15 x 100: the
 * real sample images of ../shared cycled, synthetic 96 x 96 maps, metrics.json from the evaluation
 * protocol at resolution 128), builds the report, prints its size, and how long headless Chromium
 * (Debian's chromium) takes to open it from file://: median of 3 fresh browser profiles.
 *
 *   npx tsx eval/bench-report.ts [--runs 10] [--categories 15] [--images 100] [--root /tmp/iapas-bench-report]
 *                                [--regenerate] [--skip-build] [--shot <png>]
 *
 * "load" is the page's load event; "ready" is when everything in the first screen is drawn (the
 * charts in view; the gallery is further down); "gallery" is the time from scrolling to the
 * gallery until every tile in view is drawn. Wall times depend on the machine's load: the load
 * average is printed first.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildReport } from '../src/report/build.js';
import { openFile } from '../test/support/browser.js';
import { makeSyntheticRuns } from '../test/support/synth-runs.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    categories: { type: 'string', default: '15' },
    images: { type: 'string', default: '100' },
    root: { type: 'string', default: '/tmp/iapas-bench-report' },
    regenerate: { type: 'boolean', default: false },
    'skip-build': { type: 'boolean', default: false },
    shot: { type: 'string' },
  },
});
const [R, C, I] = [Number(values.runs), Number(values.categories), Number(values.images)];
const root = join(values.root!, `${R}x${C}x${I}`);
const runsDir = join(root, 'runs');
const out = join(root, 'report');

function du(p: string): { bytes: number; files: number } {
  const st = statSync(p);
  if (!st.isDirectory()) return { bytes: st.size, files: 1 };
  let bytes = 0;
  let files = 0;
  for (const e of readdirSync(p)) {
    const d = du(join(p, e));
    bytes += d.bytes;
    files += d.files;
  }
  return { bytes, files };
}

const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`machine: ${cpus().length} cores, load average ${load()}`);

if (values.regenerate || !existsSync(join(root, 'generated'))) {
  await rm(root, { recursive: true, force: true });
  const t0 = Date.now();
  await makeSyntheticRuns(runsDir, { runs: R, categories: C, images: I });
  await writeFile(join(root, 'generated'), new Date().toISOString());
  console.log(`generated ${R} runs x ${C} categories x ${I} images in ${((Date.now() - t0) / 1000).toFixed(0)} s (${mb(du(runsDir).bytes)})`);
}

if (!values['skip-build']) {
  await rm(out, { recursive: true, force: true });
  const t0 = Date.now();
  // The build's own memory, sampled (maxRSS would include the generation above).
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const runDirs = readdirSync(runsDir).filter((d) => d.startsWith('run-')).sort().map((d) => join(runsDir, d));
  await buildReport({ inputs: runDirs, out, log: (m) => (/gallery: \d+0{2}\//.test(m) || !m.includes('gallery:') ? console.log(m) : undefined) });
  clearInterval(sampler);
  console.log(`build: ${((Date.now() - t0) / 1000).toFixed(0)} s, RSS up to ${mb(peak)} (sampled every 0.1 s), load average ${load()}`);
}

const total = du(out);
const g = existsSync(join(out, 'g')) ? du(join(out, 'g')) : { bytes: 0, files: 0 };
console.log(
  `size: ${mb(total.bytes)} in ${total.files} files (index.html ${mb(statSync(join(out, 'index.html')).size)}, vendor ${mb(du(join(out, 'vendor')).bytes)}, gallery ${mb(g.bytes)} in ${g.files} files)`,
);

const IN_VIEW = `(sel) => Array.from(document.querySelectorAll(sel)).filter((c) => { const b = c.getBoundingClientRect(); return b.top < innerHeight && b.bottom > 0 && b.left < innerWidth && b.right > 0; })`;
const runs: Array<{ load: number; ready: number; gallery: number }> = [];
for (let k = 0; k < 3; k++) {
  const page = await openFile(join(out, 'index.html'));
  const p = page.page;
  await p.waitForFunction(`document.readyState === 'complete' && (${IN_VIEW})('.chart[data-spec], #gallery canvas.tile').every((c) => c.dataset.state === 'drawn')`);
  // performance.now() counts from the navigation's start.
  const ready = Math.round((await p.evaluate('performance.now()')) as number);
  const loadEvent = Math.round((await p.evaluate(`performance.getEntriesByType('navigation')[0].loadEventEnd`)) as number);
  const g0 = Date.now();
  await p.locator('#gallery-section').scrollIntoViewIfNeeded();
  await p.waitForFunction(`(() => { const t = (${IN_VIEW})('#gallery canvas.tile'); return t.length > 0 && t.every((c) => c.dataset.state === 'drawn'); })()`);
  const gallery = Date.now() - g0;
  if (k === 0 && values.shot) await p.screenshot({ path: values.shot });
  console.log(`open #${k + 1}: load event ${loadEvent} ms, first screen drawn ${ready} ms, gallery screen ${gallery} ms after scrolling; console errors ${page.consoleErrors.length}, network requests ${page.network.length}`);
  runs.push({ load: loadEvent, ready, gallery });
  await page.close();
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
console.log(`median of 3: load event ${med(runs.map((r) => r.load))} ms, first screen drawn ${med(runs.map((r) => r.ready))} ms, gallery screen ${med(runs.map((r) => r.gallery))} ms; load average ${load()}`);
