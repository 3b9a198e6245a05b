/**
 * Guarantees other changes must not break: bad images are left out with
 * their reason, killed runs resume to byte-identical results, bad flags and configs get one clear
 * line, prototype keys and path traversal are refused. (Prompt injection: test/prompts/template.test.ts,
 * 'inserts untrusted values as data'.)
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src/datasets/index.js';
import { RunDir } from '../../src/run-directory/run-dir.js';
import { runOnDataset } from '../../src/session/run-dataset.js';
import { mulberry32 } from '../../src/util/random.js';
import { runCli } from '../support/cli.js';
import { fakePipeline, runDirFiles, writeRgb, writeTinyMvtec } from '../support/fake-pipeline.js';
import { REPO_ROOT } from '../support/shared.js';
import { buildConfig } from '../../src/methods/registry.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'iapas-hold-'));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const config = () => buildConfig('fewshot', { flags: { references: { k: 2 }, concurrency: 2, cache: false, eval: { resolution: 32 } } });


/** A PNG whose header says 30000 x 30000: over sharp's pixel limit, 200 bytes on disk. */
function overLimitPng(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(30000, 0);
  ihdr.writeUInt32BE(30000, 4);
  ihdr[8] = 8; // 8-bit gray
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(4096))), chunk('IEND', Buffer.alloc(0))]);
}

describe('bad and awkward images in a run', () => {
  it('truncated, empty and over-limit files are left out with their reason; mislabelled, 16-bit, gray and RGBA ones are read', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    const cat = await writeTinyMvtec(data, 'widget', { anomalous: 2, normal: 1 });
    const good = join(cat, 'test', 'good');
    const png = await readFile(join(good, '000.png'));
    await writeFile(join(good, 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    await writeFile(join(good, 'empty.png'), '');
    await writeFile(join(good, 'huge.png'), overLimitPng());
    await writeRgb(join(good, 'mislabelled.jpg'), 97, false, 'png'); // a PNG named .jpg
    const side = 32;
    await sharp(new Uint16Array(side * side).fill(30000), { raw: { width: side, height: side, channels: 1 } }).toColourspace('grey16').png().toFile(join(good, 'sixteen.png'));
    await sharp(Buffer.alloc(side * side, 99), { raw: { width: side, height: side, channels: 1 } }).toColourspace('b-w').png().toFile(join(good, 'gray.png'));
    await sharp(Buffer.alloc(side * side * 4, 98), { raw: { width: side, height: side, channels: 4 } }).png().toFile(join(good, 'rgba.png'));

    const runDir = join(root, 'run');
    const res = await runOnDataset({ config: config(), dataset: data, runDir, quiet: true, pipeline: fakePipeline() });
    const failed = JSON.parse(await readFile(join(runDir, 'failed.json'), 'utf8')) as Array<{ relId: string; error: string }>;
    const reasons = Object.fromEntries(failed.map((f) => [f.relId, f.error]));
    expect(Object.keys(reasons).sort()).toEqual(['test/good/empty', 'test/good/huge', 'test/good/truncated']);
    expect(reasons['test/good/huge']).toMatch(/cannot decode image .*huge\.png: Input image exceeds pixel limit/);
    expect(reasons['test/good/empty']).toMatch(/cannot decode image .*empty\.png/);
    expect(reasons['test/good/truncated']).toMatch(/cannot decode image .*truncated\.png/);
    const dir = new RunDir(runDir);
    for (const id of ['mislabelled', 'sixteen', 'gray', 'rgba']) expect(await dir.isComplete('widget', `test/good/${id}`), id).toBe(true);
    expect(res.metrics!.categories[0].n_images).toBe(7);
    expect(res.metrics!.problems.missing_maps.sort()).toEqual(['widget/test/good/empty', 'widget/test/good/huge', 'widget/test/good/truncated']);
  });
});

describe('killed runs resume to the same bytes', () => {
  /** Runs test/support/run-child.ts; resolves with its exit code, or signal, once it ends. */
  function child(data: string, runDir: string, resume: boolean, kill?: { signal: NodeJS.Signals; afterImages: number; extraMs: number }) {
    const p = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/support/run-child.ts'), data, runDir, ...(resume ? ['--resume'] : [])], { cwd: REPO_ROOT });
    let images = 0;
    let stderr = '';
    let armed = false;
    const fire = () => {
      if (armed || !kill) return;
      armed = true;
      setTimeout(() => p.kill(kill.signal), kill.extraMs);
    };
    p.stdout.on('data', (b: Buffer) => {
      for (const line of b.toString().split('\n')) {
        if (line === 'start' && kill?.afterImages === 0) fire();
        if (line.startsWith('image ')) {
          images++;
          if (kill && images >= kill.afterImages) fire();
        }
      }
    });
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stderr })));
  }

  it('ten SIGKILLs at random points and one SIGINT, each followed by --resume, give the files of an uninterrupted run', async () => {
    const root = await tmp();
    const data = join(root, 'data');
    await writeTinyMvtec(data, 'widget', { anomalous: 10, normal: 6 });
    const reference = join(root, 'reference');
    await runOnDataset({ config: config(), dataset: data, runDir: reference, quiet: true, pipeline: fakePipeline() });

    const runDir = join(root, 'run');
    const random = mulberry32(11);
    let killed = 0;
    for (let k = 0; k < 10; k++) {
      const r = await child(data, runDir, k > 0, { signal: 'SIGKILL', afterImages: Math.floor(random() * 3), extraMs: Math.floor(random() * 120) });
      if (r.signal === 'SIGKILL') killed++;
      else expect(r.code, r.stderr).toBe(0); // finished before the kill landed
    }
    expect(killed).toBeGreaterThanOrEqual(8);
    const interrupted = await child(data, runDir, true, { signal: 'SIGINT', afterImages: 1, extraMs: 0 });
    expect([0, 130]).toContain(interrupted.code);
    const last = await child(data, runDir, true);
    expect(last.code, last.stderr).toBe(0);
    const got = await runDirFiles(runDir);
    const want = await runDirFiles(reference);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [f, bytes] of want) expect(got.get(f), f).toBe(bytes);
  }, 240_000);
});

describe('bad flags and configs get one clear line', () => {
  it('each is refused with exit code 1 and one line on stderr, no stack trace', async () => {
    const root = await tmp();
    const yaml = join(root, 'bad.yaml');
    await writeFile(yaml, 'detector: [unclosed\n');
    const unknown = join(root, 'unknown.yaml');
    await writeFile(unknown, 'detectr: { box_threshold: 0.2 }\n');
    const cases: Array<[string[], RegExp]> = [
      [['config', 'show', '--set', 'detector.box_threshold=2'], /detector\.box_threshold/],
      [['config', 'show', '--set', 'nonsense'], /--set expects key=value/],
      [['config', 'show', '--k', '2.5'], /--k expects an integer/],
      [['config', 'show', '--preset', 'nope'], /nope/],
      [['config', 'show', '--config', yaml], /not valid YAML/],
      [['config', 'show', '--config', unknown], /unknown key.*detectr/],
      [['config', 'show', '--config', join(root, 'missing.yaml')], /cannot read config file/],
      [['config', 'show', '--set', 'fewshot.threshold=fixed:-1'], /fewshot\.threshold: threshold policy 'fixed:-1': value must be >= 0/],
      [['config', 'show', '--set', 'fewshot.threshold=adaptive:5'], /quantile must be in \[0, 1\], got 5/],
      [['config', 'show', '--set', 'fewshot.threshold=adaptive:-1'], /quantile must be in \[0, 1\], got -1/],
      [['config', 'show', '--set', 'fewshot.threshold=adaptive:0.9:0'], /factor must be > 0/],
      [['config', 'show', '--set', 'fewshot.threshold=otsu+rel2'], /rel must be in \(0, 1\]/],
      [['run', '--dataset', root, '--limit', '0'], /--limit expects a positive integer/],
      [['evaluate', '--dataset', root, '--maps', root, '--resolution', 'x'], /--resolution expects a positive integer/],
      [['evaluate', '--dataset', root, '--maps', root, '--max-memory', '-2'], /--max-memory expects a positive number/],
    ];
    for (const [args, why] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(/^iapas: /);
      expect(lines[0]).toMatch(why);
      expect(lines[0]).not.toMatch(/IAPAS_DEBUG|at .*\.ts:\d+/);
    }
  });
});

describe('refused: prototype keys, path traversal', () => {
  it('config keys that reach a prototype are refused, from flags and from files, and nothing is polluted', async () => {
    const root = await tmp();
    const json = join(root, 'p.json');
    await writeFile(json, '{"__proto__": {"polluted": 1}}');
    const yaml = join(root, 'p.yaml');
    await writeFile(yaml, 'fewshot:\n  constructor:\n    prototype:\n      polluted: 1\n');
    for (const args of [['--set', '__proto__.polluted=1'], ['--set', 'fewshot.constructor.prototype.polluted=1'], ['--set', 'prototype=1'], ['--config', json], ['--config', yaml]]) {
      const r = await runCli(['config', 'show', '--preset', 'fewshot', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/is not allowed/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('category names and paths cannot lead outside the run directory or the dataset', async () => {
    const root = await tmp();
    const dir = new RunDir(join(root, 'run'));
    for (const p of [dir.stageAPath('../../x'), dir.imagePath('..', '../../../etc/passwd'), join(dir.root, dir.mapRel('/abs', '/etc/passwd'))]) {
      expect(relative(dir.root, p).startsWith('..')).toBe(false);
    }
    // VisA's split file names image paths: one leading out of the object's folder is refused.
    const visa = join(root, 'visa');
    await writeRgb(join(visa, 'candle', 'Data', 'Images', 'Normal', '000.png'), 100);
    await writeRgb(join(root, 'outside.png'), 100);
    await mkdir(join(visa, 'split_csv'), { recursive: true });
    await writeFile(
      join(visa, 'split_csv', '1cls.csv'),
      'object,split,label,image,mask\ncandle,test,normal,candle/Data/Images/Normal/000.png,\ncandle,test,normal,candle/../../outside.png,\n',
    );
    const index = await loadDataset(visa);
    expect(index.samples.map((s) => s.imagePath)).toEqual([join(visa, 'candle', 'Data', 'Images', 'Normal', '000.png')]);
    expect(index.problems.map((p) => p.message).join()).toMatch(/'candle\/\.\.\/\.\.\/outside\.png' is not inside/);
  });
});
