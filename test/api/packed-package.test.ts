/**
 * The package as a researcher installs it: `npm pack` (which builds dist/), the tarball unpacked
 * into a scratch project's node_modules/iapas, and a script there that imports the toolkit by its
 * name. Its dependencies are linked from this clone's node_modules, so nothing is downloaded; what
 * is tested is the tarball's contents, its `exports` map, the compiled code and its declarations.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyMvtec } from '../support/fake-pipeline.js';
import { REPO_ROOT } from '../support/shared.js';

const run = promisify(execFile);
let scratch: string;
let pkg: string;
let tarFiles: string[];

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'iapas-packed-'));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarFiles = packed[0].files.map((f) => f.path);
  pkg = join(scratch, 'node_modules', 'iapas');
  await mkdir(pkg, { recursive: true });
  await run('tar', ['-xzf', join(scratch, packed[0].filename), '-C', pkg, '--strip-components=1']);
  for (const name of await readdir(join(REPO_ROOT, 'node_modules'))) {
    if (name === 'iapas' || name.startsWith('.')) continue;
    await symlink(join(REPO_ROOT, 'node_modules', name), join(scratch, 'node_modules', name));
  }
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', type: 'module', private: true }));
}, 240_000);

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the compiled code, its declarations and the files it reads, and no TypeScript sources', () => {
    expect(tarFiles).toContain('dist/api/index.js');
    expect(tarFiles).toContain('dist/api/index.d.ts');
    expect(tarFiles).toContain('dist/report/assets/report.css');
    expect(tarFiles).toContain('models/manifest.json');
    expect(tarFiles.filter((f) => f.startsWith('src/'))).toEqual([]);
  });

  it('imported by name from a script: loads a preset, runs it on a dataset, reads the run directory and re-evaluates its maps', async () => {
    const data = join(scratch, 'data');
    await writeTinyMvtec(data, 'widget', { anomalous: 2, normal: 1 });
    await writeFile(
      join(scratch, 'use.mjs'),
      `import { loadPreset, PRESET_NAMES, runOnDataset, readRunDirectory, evaluateMapsFolder, loadDataset, UserError } from 'iapas';
const config = await loadPreset('fewshot', ['references.k=2', 'cache=false']);
const { runDir, metrics } = await runOnDataset({ config, dataset: ${JSON.stringify(data)}, runDir: ${JSON.stringify(join(scratch, 'run'))}, quiet: true });
const dir = await readRunDirectory(runDir);
const map = await dir.readMap(dir.records[0]);
const again = await evaluateMapsFolder({ dataset: await loadDataset(${JSON.stringify(data)}), mapsDir: runDir + '/maps', quiet: true });
let refused = null;
try { await loadPreset('no-such-preset'); } catch (e) { refused = { user: e instanceof UserError, message: e.message }; }
console.log(JSON.stringify({ presets: PRESET_NAMES, k: config.references.k, preset: config.preset, ap: metrics.mean.pixel_ap, apAgain: again.mean.pixel_ap,
  readAp: dir.metrics.mean.pixel_ap, records: dir.records.length, map: [map.width, map.height, map.data.length], progress: dir.progress, refused }));
`,
    );
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: scratch, maxBuffer: 16 << 20 });
    const out = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(out.presets).toContain('fewshot');
    expect(out).toMatchObject({ k: 2, preset: 'fewshot', records: 3, map: [32, 32, 1024], progress: null, refused: { user: true } });
    expect(out.refused.message).toMatch(/no-such-preset/);
    expect(out.ap).toBeGreaterThan(0);
    expect(out.apAgain).toBe(out.ap);
    expect(out.readAp).toBe(out.ap);
  }, 240_000);

  it('type-checks a TypeScript consumer against the declarations its exports map names', async () => {
    await writeFile(
      join(scratch, 'use.ts'),
      `import { loadPreset, readRunDirectory, type Config, type RunDirectory } from 'iapas';
const config: Config = await loadPreset('fewshot');
const k: number = config.references.k;
const dir: RunDirectory = await readRunDirectory('x');
const n: number = dir.records.length + k;
// @ts-expect-error the declarations are strict: a preset name is a string
await loadPreset(3);
export { n };
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--skipLibCheck', 'use.ts'];
    const res = await run(process.execPath, [tsc, ...flags], { cwd: scratch }).then(
      () => ({ ok: true, out: '' }),
      (e: { stdout: string }) => ({ ok: false, out: e.stdout }),
    );
    expect(res.out).toBe('');
    expect(res.ok).toBe(true);
  }, 120_000);

  it('its command line runs from the compiled code', async () => {
    const { stdout } = await run(process.execPath, [join(pkg, 'bin', 'iapas.js'), 'config', 'presets'], { cwd: scratch });
    expect(stdout).toContain('fewshot');
  }, 60_000);
});
