/**
 * The per-image cost of `fewshot.align`, as a ratio measured within one process: every repeat
 * runs each mode on the same images (`iapas run`'s machinery, one image at a time, no cache, so
 * every model pass and every pose estimate is paid), the modes interleaved and their order
 * alternated between repeats so that a load change on the machine hits both alike. Per mode the
 * medians over repeats of: stage B per image (decode + map + refinement + write), its
 * model-bound part (the images' own encoder and decoder passes), their ratio (what bench-maps
 * prints as "per image"), and stage B against the first mode's model-bound time (what an
 * aligned image costs over an unaligned one's model work). Asserts nothing. `--knob
 * fewshot.augment` compares reference copies instead: their encoder passes are stage A's (the
 * copies each category's notes record, `augment.copies` for the 'auto' modes), so stage B's
 * model-bound part stays the images' own passes.
 *
 *   npx tsx eval/bench-align-cost.ts [--knob fewshot.align] [--modes none,turn] [--datasets mtd,mvtec_ad] [--limit 12]
 *       [--repeats 3] [--work dir] [--json out.json] [--set key=value ...]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, runOnDataset } from '../src/api/index.js';
import { SHARED, sharedModelsDir } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    knob: { type: 'string', default: 'fewshot.align' },
    modes: { type: 'string', default: 'none,turn' },
    datasets: { type: 'string', default: 'mtd,mvtec_ad' },
    limit: { type: 'string', default: '12' },
    repeats: { type: 'string', default: '3' },
    work: { type: 'string', default: join(tmpdir(), 'iapas-align-cost') },
    json: { type: 'string' },
    set: { type: 'string', multiple: true, default: [] },
  },
});
const modes = values.modes!.split(',');
const datasets = values.datasets!.split(',');
const limit = Number(values.limit);
const repeats = Number(values.repeats);

interface Sample { stageBMs: number; modelBMs: number; images: number; aligned: number; stageAPasses: number; copies: Record<string, string> }

/** Stage B of a run and the model time of the images' own passes (a backbone's passes beyond one per image are stage A's references, except the extra passes of aligned images, which are the image's). */
function stageB(run: { timing: Record<string, { total_ms: number }>; modelMs: Record<string, number>; modelRuns: Record<string, number> }, referencePasses: number): { stageBMs: number; modelBMs: number } {
  const t = (name: string) => run.timing[name]?.total_ms ?? 0;
  let modelBMs = 0;
  for (const [name, ms] of Object.entries(run.modelMs)) {
    const runs = run.modelRuns[name] ?? 0;
    const imagePasses = name === 'sam-decoder' ? runs : Math.max(0, runs - referencePasses);
    modelBMs += runs > 0 ? (ms * Math.min(runs, imagePasses)) / runs : 0;
  }
  return { stageBMs: t('decode') + t('anomaly-map') + t('sam-refine') + t('write'), modelBMs };
}

/** Copies per reference of each fixed fewshot.augment mode (augment.ts referenceCopies). */
const COPIES: Record<string, number> = { none: 0, rot90: 3, rot45: 7, flip: 2 };

/** Encoder passes of stage A in a run: per category its references, their copies and stand-ins (from the notes). */
async function stageAPasses(runDir: string, augment: string): Promise<{ passes: number; copies: Record<string, string> }> {
  let passes = 0;
  const copies: Record<string, string> = {};
  for (const c of await readdir(join(runDir, 'categories'))) {
    const a = JSON.parse(await readFile(join(runDir, 'categories', c, 'stage-a.json'), 'utf8')) as { references: string[]; notes: { augment?: { copies: string }; stand_ins?: number } };
    const mode = a.notes.augment?.copies ?? augment;
    copies[c] = mode;
    passes += a.references.length * (1 + (COPIES[mode] ?? 0)) + (a.notes.stand_ins ?? 0);
  }
  return { passes, copies };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const modelsDir = await sharedModelsDir();
await mkdir(values.work!, { recursive: true });
const root = await mkdtemp(join(values.work!, 'run-'));
const samples: Record<string, Record<string, Sample[]>> = {};
try {
  for (const ds of datasets) {
    samples[ds] = Object.fromEntries(modes.map((m) => [m, [] as Sample[]]));
    for (let r = 0; r < repeats; r++) {
      const order = r % 2 === 0 ? modes : [...modes].reverse();
      for (const mode of order) {
        const config = await loadConfig({ preset: 'fewshot', overrides: { models_dir: modelsDir, concurrency: 1, cache: false }, set: [...values.set!, `${values.knob}=${mode}`] });
        const runDir = join(root, `${ds}-${mode}-${r}`);
        const res = await runOnDataset({ config, dataset: join(SHARED.datasets, ds), runDir, limit, quiet: true });
        const images = res.metrics!.categories.reduce((a, c) => a + c.n_images, 0);
        const stageA = await stageAPasses(runDir, config.fewshot.augment);
        const refPasses = stageA.passes;
        const s = stageB(res.run, refPasses);
        const encoderPasses = res.run.modelRuns['sam-encoder'] ?? 0;
        samples[ds][mode].push({ ...s, images, aligned: encoderPasses - refPasses - images, stageAPasses: refPasses, copies: stageA.copies });
        process.stderr.write(`  ${ds} ${mode} #${r}: stage B ${(s.stageBMs / images).toFixed(0)} ms/image, model ${(s.modelBMs / images).toFixed(0)} ms/image, encoder passes ${encoderPasses} (stage A ${refPasses}; copies ${JSON.stringify(stageA.copies)})\n`);
      }
    }
  }
} finally {
  await rm(root, { recursive: true, force: true });
  await rm(modelsDir, { recursive: true, force: true });
}

console.log(`${values.knob} cost: ${repeats} repeats, modes interleaved, no cache, at most ${limit} test images per category; medians over repeats, ms per image`);
console.log(`| dataset | mode | images | stage A encoder passes | extra encoder passes | stage B | model-bound | ratio | stage B / ${modes[0]}'s model-bound | stage B / ${modes[0]}'s stage B |`);
console.log('|---|---|---|---|---|---|---|---|---|---|');
const rows = [];
for (const ds of datasets) {
  const base = samples[ds][modes[0]];
  const baseModel = median(base.map((s) => s.modelBMs / s.images));
  const baseB = median(base.map((s) => s.stageBMs / s.images));
  for (const mode of modes) {
    const ss = samples[ds][mode];
    const b = median(ss.map((s) => s.stageBMs / s.images));
    const m = median(ss.map((s) => s.modelBMs / s.images));
    const ratio = median(ss.map((s) => s.stageBMs / s.modelBMs));
    const row = { dataset: ds, mode, images: ss[0].images, stage_a_encoder_passes: ss[0].stageAPasses, extra_encoder_passes: ss[0].aligned, stage_b_ms: b, model_b_ms: m, ratio, vs_base_model: b / baseModel, vs_base_stage_b: b / baseB, samples: ss };
    rows.push(row);
    console.log(`| ${ds} | ${mode} | ${row.images} | ${row.stage_a_encoder_passes} | ${row.extra_encoder_passes} | ${b.toFixed(0)} | ${m.toFixed(0)} | ${ratio.toFixed(2)} | ${row.vs_base_model.toFixed(2)} | ${row.vs_base_stage_b.toFixed(2)} |`);
  }
}
if (values.json) await writeFile(values.json, JSON.stringify({ at: new Date().toISOString(), options: values, rows }, null, 2));
