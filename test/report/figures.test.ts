import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PAPER_SIZE, runColours } from '../../src/report/chart-style.js';
import { curveSpec } from '../../src/report/curve-specs.js';
import { specToSvg, svgToPng } from '../../src/report/figures.js';
import { REPO_ROOT } from '../support/shared.js';

const curves = {
  n_thresholds: 3,
  max_points: 512,
  pr: { recall: [0.1, 0.5, 1], precision: [1, 0.8, 0.1], threshold: [0.9, 0.5, 0] },
  roc: { fpr: [0, 0.01, 1], tpr: [0.1, 0.5, 1], threshold: [0.9, 0.5, 0] },
  pro: null,
  f1_max_point: { threshold: 0.5, precision: 0.8, recall: 0.5, f1: 0.615, fpr: 0.01, tp: 5, fp: 1, index_pr: 1, index_roc: 1 },
};

describe('paper figures (headless vega)', () => {
  it('renders a spec to SVG with its text, and to a PNG at the asked resolution', async () => {
    const svg = await specToSvg(curveSpec('pr', 'grid', [{ label: 'run a', curves }], runColours(['run a']), PAPER_SIZE));
    expect(svg).toMatch(/<text[^>]*>grid: pixel PR<\/text>/);
    expect(svg).toContain('run a');
    const width = Number(/<svg[^>]* width="(\d+(?:\.\d+)?)"/.exec(svg)![1]);
    for (const dpi of [96, 300]) {
      const meta = await sharp(await svgToPng(svg, dpi)).metadata();
      expect(meta.format).toBe('png');
      expect(Math.abs(meta.width! - (width * dpi) / 96)).toBeLessThanOrEqual(1);
    }
  });

  it('warns when no font is found (text would be boxes), in a process that sees no fonts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iapas-nofonts-'));
    const conf = join(dir, 'fonts.conf');
    writeFileSync(conf, `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>${dir}/none</dir><cachedir>${dir}/cache</cachedir></fontconfig>`);
    const script = `import('${join(REPO_ROOT, 'src/report/figures.ts')}').then(async (m) => console.log(JSON.stringify(await m.checkFigureFonts())))`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO_ROOT, env: { ...process.env, FONTCONFIG_FILE: conf }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toMatch(/unreadable text .*fonts-dejavu-core/);
  });
});
