/**
 * The prompted-SAM study: every evaluated image is encoded once and decoded under each mode's
 * ground-truth prompts, and again through each refinement policy (columns `<mode>+<policy>`,
 * modes.ts); figures per category and their plain mean (the "unified" row).
 */
import type { Sample } from '../../datasets/types.js';
import { loadMask, loadRgb } from '../../image/io.js';
import { resizeNearest } from '../../image/resize.js';
import type { SamModel } from '../../models/sam/model.js';
import { maxLogit } from '../../models/sam/combine.js';
import { policyNeedsMap, refineMask, type RefinePolicy } from '../components/sam-refine.js';
import type { SamMaskResult } from '../../models/sam/model.js';
import { signedDistance } from '../../image/distance.js';
import { unionMask } from '../../image/masks.js';
import { mulberry32, sampleWithoutReplacement } from '../../util/random.js';
import { createProgress } from '../../util/progress.js';
import { OracleAccumulator, type OracleFigures } from './accumulate.js';
import { imageSeed, oracleColumns, oraclePrompts, type OracleMode } from './modes.js';
import { meanDefined } from '../../util/numeric.js';

export interface OracleOptions {
  modes: OracleMode[];
  /** Refinement policies, each added as a column per GT-derived mode (modes.ts oracleColumns). */
  refine?: RefinePolicy[];
  /** Categories to run (default: all in the samples). */
  categories?: string[];
  /** At most this many anomalous images per category, drawn with `seed` (default: all). */
  maxImages?: number;
  /** Also pool the normal test images into P-AUROC (default: anomalous images only, as the seed). */
  includeNormal?: boolean;
  /** Side of the square the maps are resized to for P-AUROC (0: native size). */
  evalSize?: number;
  /** Points per region in mode bps. */
  points?: number;
  seed?: number;
  quiet?: boolean;
}

export interface OracleCategoryResult {
  category: string;
  anomalous: number;
  normal: number;
  figures: Record<string, OracleFigures>;
}

export interface OracleResult {
  model: string;
  modes: OracleMode[];
  /** Every column: the modes, then `<mode>+<policy>` for each refinement policy. */
  columns: string[];
  seed: number;
  points: number;
  evalSize: number;
  maxImages: number | null;
  includeNormal: boolean;
  categories: OracleCategoryResult[];
  /** Plain mean over categories, per mode (the seed's "Unified" row). */
  mean: Record<string, { iou: number | null; iou_pooled: number | null; pixel_auroc: number | null; pixel_auroc_logit: number | null }>;
  warnings: string[];
  timing: { images: number; encoder_ms_per_image: number; decoder_ms_per_prompt: number; total_s: number };
}

/** The test images a category contributes: anomalous ones with masks (sampled), optionally normal ones. */
export function selectOracleSamples(samples: Sample[], category: string, opts: OracleOptions): { anomalous: Sample[]; normal: Sample[] } {
  const seed = opts.seed ?? 0;
  const pick = (list: Sample[]) => {
    if (opts.maxImages === undefined || list.length <= opts.maxImages) return list;
    const chosen = sampleWithoutReplacement(list, opts.maxImages, mulberry32(seed));
    return chosen.sort((a, b) => (a.relId < b.relId ? -1 : a.relId > b.relId ? 1 : 0));
  };
  const test = samples.filter((s) => s.category === category && s.split === 'test');
  const anomalous = pick(test.filter((s) => s.label === 'anomalous' && s.maskPath !== null));
  const normal = opts.includeNormal ? pick(test.filter((s) => s.label === 'normal')) : [];
  return { anomalous, normal };
}

export async function runOracle(sam: SamModel, samples: Sample[], opts: OracleOptions): Promise<OracleResult> {
  const t0 = performance.now();
  const seed = opts.seed ?? 0;
  const points = opts.points ?? 20;
  const evalSize = opts.evalSize ?? 400;
  const categories = opts.categories ?? [...new Set(samples.map((s) => s.category))].sort();
  const plan = categories.map((c) => ({ category: c, ...selectOracleSamples(samples, c, opts) }));
  const total = plan.reduce((a, p) => a + p.anomalous.length + p.normal.length, 0);
  const progress = createProgress('oracle', total, { quiet: opts.quiet });
  const warnings: string[] = [];
  const enc0 = { ...sam.stats };
  const out: OracleCategoryResult[] = [];

  const columns = oracleColumns(opts.modes, opts.refine);
  const needsMap = columns.some((c) => c.refine && policyNeedsMap(c.refine));
  for (const { category, anomalous, normal } of plan) {
    const accs = new Map(columns.map((c) => [c.name, new OracleAccumulator(evalSize)]));
    for (const sample of [...anomalous, ...normal]) {
      const image = await loadRgb(sample.imagePath);
      const { width, height } = image;
      let gt: Uint8Array = new Uint8Array(width * height);
      if (sample.maskPath) {
        const m = await loadMask(sample.maskPath);
        if (m.width !== width || m.height !== height) {
          warnings.push(`${sample.maskPath}: mask ${m.width}x${m.height} resized (nearest) to its image's ${width}x${height}`);
          gt = resizeNearest(m.data, m.width, m.height, width, height);
        } else gt = m.data;
      }
      const prompts = new Map(
        opts.modes.map((mode) => [mode, oraclePrompts(mode, gt, width, height, { random: mulberry32(imageSeed(seed, category, sample.relId)), points })]),
      );
      const needsSam = [...prompts.values()].some((p) => p.length > 0);
      const embedding = needsSam ? await sam.encode(image) : null;
      const map = needsMap && needsSam ? signedDistance(gt, width, height) : undefined;
      const base = new Map<OracleMode, { results: SamMaskResult[]; ms: number }>();
      for (const column of columns) {
        const modePrompts = prompts.get(column.mode)!;
        const ms0 = sam.stats.decoderMs;
        let results: SamMaskResult[] = [];
        let calls = 0;
        let reusedMs = 0;
        if (embedding && modePrompts.length) {
          if (!column.refine) {
            results = await sam.decode(embedding, modePrompts);
            calls = results.length;
          } else {
            // Self refinement starts from the mode's own decode (computed above, as modes come first).
            const first = column.refine.refine === 'self' && column.refine.multimask === 'off' ? base.get(column.mode) : undefined;
            for (const [i, prompt] of modePrompts.entries()) {
              const r = await refineMask(sam, embedding, prompt, column.refine, { map, first: first?.results[i] });
              results.push(r);
              calls += r.decoderCalls + (r.steps[0] === 'given' ? 1 : 0);
            }
            if (first && results.length) reusedMs = first.ms;
          }
        }
        const ms = sam.stats.decoderMs - ms0;
        if (!column.refine) base.set(column.mode, { results, ms });
        const pred = unionMask(results.map((r) => r.mask), width * height);
        accs.get(column.name)!.add(pred, results.length ? maxLogit(results, width, height) : null, gt, width, height, modePrompts.length, { calls, ms: ms + reusedMs });
      }
      progress.tick();
    }
    const figures: Record<string, OracleFigures> = {};
    for (const [name, acc] of accs) figures[name] = acc.finish();
    out.push({ category, anomalous: anomalous.length, normal: normal.length, figures });
  }
  progress.stop();

  const meanRow: OracleResult['mean'] = {};
  for (const { name } of columns) {
    meanRow[name] = {
      iou: meanDefined(out.map((c) => c.figures[name].iou)),
      iou_pooled: meanDefined(out.map((c) => c.figures[name].iou_pooled)),
      pixel_auroc: meanDefined(out.map((c) => c.figures[name].pixel_auroc)),
      pixel_auroc_logit: meanDefined(out.map((c) => c.figures[name].pixel_auroc_logit)),
    };
  }
  const encRuns = sam.stats.encoderRuns - enc0.encoderRuns;
  const decRuns = sam.stats.decoderRuns - enc0.decoderRuns;
  return {
    model: sam.entry.name,
    modes: opts.modes,
    columns: columns.map((c) => c.name),
    seed,
    points,
    evalSize,
    maxImages: opts.maxImages ?? null,
    includeNormal: !!opts.includeNormal,
    categories: out,
    mean: meanRow,
    warnings,
    timing: {
      images: total,
      encoder_ms_per_image: encRuns ? +((sam.stats.encoderMs - enc0.encoderMs) / encRuns).toFixed(1) : 0,
      decoder_ms_per_prompt: decRuns ? +((sam.stats.decoderMs - enc0.decoderMs) / decRuns).toFixed(1) : 0,
      total_s: +((performance.now() - t0) / 1000).toFixed(1),
    },
  };
}
