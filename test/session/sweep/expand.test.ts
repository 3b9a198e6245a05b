/**
 * Sweep specs without running anything: the product of the factors, run ids and directories,
 * validation errors that name the key and the value, the order that groups runs sharing model
 * outputs, the dry run's account of shared model passes, and the spec difference a resume reports.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { describePlan, postModelKeys, sharedPasses } from '../../../src/session/sweep/describe.js';
import { expandSweep } from '../../../src/session/sweep/expand.js';
import { parseSweepSpec, readSweepSpec, specIdentity } from '../../../src/session/sweep/spec.js';
import { identityDiff } from '../../../src/session/sweep/sweep-dir.js';
import { runCli } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/shared.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'iapas-sweep-spec-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const spec = (raw: Record<string, unknown>) => parseSweepSpec(raw, join(root ?? tmpdir(), 'spec.yaml'));
const errorOf = async (raw: Record<string, unknown>): Promise<string> => {
  try {
    expandSweep(await spec(raw));
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected an error');
};

const DETECTOR_GRID = {
  base: { preset: 'iap-as', set: { tagger: 'classname', captioner: 'llm' } },
  datasets: ['data/a'],
  grid: {
    'detector.box_threshold': [0.1, 0.2, 0.3],
    'detector.text_threshold': [0.1, 0.2, 0.3],
    'detector.size_threshold': [0.6, 0.8, 1.0],
  },
};

describe('sweep expansion', () => {
  it('is the cartesian product in spec order (last factor fastest), zip groups and seeds as factors', async () => {
    const plan = expandSweep(
      await spec({
        base: { preset: 'fewshot', set: ['references.k=2'] },
        datasets: ['data/a', { path: 'other/b', name: 'bee', categories: ['x'], limit: 3 }],
        grid: { 'fewshot.threshold': ['adaptive', 'fixed:0.3'] },
        zip: [{ 'fewshot.boost': [1, 2, 3], 'fewshot.mask_margin': [0, 0.1, 0.2] }],
        seeds: [1, 2],
      }),
      { out: join(root, 'sw') },
    );
    expect(plan.runs).toHaveLength(12);
    expect(plan.jobs).toHaveLength(24);
    expect(plan.variedKeys).toEqual(['fewshot.threshold', 'fewshot.boost', 'fewshot.mask_margin', 'seed']);
    expect(plan.runs[0]).toMatchObject({ id: 'r00', assignment: { 'fewshot.threshold': 'adaptive', 'fewshot.boost': 1, 'fewshot.mask_margin': 0, seed: 1 } });
    expect(plan.runs[1].assignment).toEqual({ 'fewshot.threshold': 'adaptive', 'fewshot.boost': 1, 'fewshot.mask_margin': 0, seed: 2 });
    expect(plan.runs[2].assignment).toEqual({ 'fewshot.threshold': 'adaptive', 'fewshot.boost': 2, 'fewshot.mask_margin': 0.1, seed: 1 });
    expect(plan.runs[11].id).toBe('r11');
    const c = plan.runs[5].config;
    expect([c.preset, c.references.k, c.fewshot.boost, c.fewshot.mask_margin, c.seed, c.fewshot.threshold]).toEqual(['fewshot', 2, 3, 0.2, 2, 'adaptive']);
    expect(c.cache_dir).toMatch(/^\//);
    expect(plan.spec.datasets.map((d) => d.label)).toEqual(['a', 'bee']);
    expect(plan.spec.datasets[1]).toMatchObject({ path: join(root, 'other/b'), categories: ['x'], limit: 3 });
    const job = plan.jobs.find((j) => j.id === 'r03/bee')!;
    expect(job.runDir).toBe(join(root, 'sw', 'runs', 'r03', 'bee'));
  });

  it('names the key and the value of a bad grid value, an unknown key, or a bad preset', async () => {
    const range = await errorOf({ ...DETECTOR_GRID, grid: { 'detector.box_threshold': [0.1, 1.5] } });
    expect(range).toContain('grid detector.box_threshold = 1.5');
    expect(range).toMatch(/detector\.box_threshold: Number must be less than or equal to 1/);
    const unknown = await errorOf({ ...DETECTOR_GRID, grid: { 'detector.box_treshold': [0.1] } });
    expect(unknown).toContain('grid detector.box_treshold = 0.1');
    expect(unknown).toContain("unknown key(s) 'box_treshold'");
    const type = await errorOf({ ...DETECTOR_GRID, grid: { 'llm.temperature': ['hot'] } });
    expect(type).toContain('grid llm.temperature = hot');
    const preset = await errorOf({ ...DETECTOR_GRID, grid: { preset: ['fewshot', 'fewshoot'] } });
    expect(preset).toContain('grid preset = fewshoot');
    expect(preset).toContain("unknown preset 'fewshoot'");
    const zipped = await errorOf({ ...DETECTOR_GRID, grid: {}, zip: [{ 'detector.box_threshold': [0.1, 0.2], 'detector.text_threshold': [0.1, -1] }] });
    expect(zipped).toContain('zip detector.box_threshold = 0.2, detector.text_threshold = -1');
    expect(await errorOf({ ...DETECTOR_GRID, base: {} })).toContain('no preset');
  });

  it('refuses malformed specs with one line naming the problem', async () => {
    expect(await errorOf({ datasets: [], base: { preset: 'fewshot' } })).toContain('datasets: at least one dataset');
    expect(await errorOf({ ...DETECTOR_GRID, grid: { 'detector.box_threshold': 0.2 } })).toMatch(/grid\.detector\.box_threshold: Expected array/);
    expect(await errorOf({ ...DETECTOR_GRID, zip: [{ 'detector.nms_iou': [0.5, 0.6], 'sam.model': ['a'] }] })).toContain('nms_iou has 2 values but sam.model has 1');
    expect(await errorOf({ ...DETECTOR_GRID, zip: [{ 'detector.box_threshold': [0.5, 0.6], 'detector.nms_iou': [0.4, 0.6] }] })).toContain(
      "'detector.box_threshold' (zip[0]) overlaps 'detector.box_threshold' (grid)",
    );
    expect(await errorOf({ ...DETECTOR_GRID, grid: { detector: [{}], 'detector.nms_iou': [0.5] } })).toContain('overlaps');
    expect(await errorOf({ ...DETECTOR_GRID, seeds: [1], grid: { seed: [1, 2] } })).toContain("'seed' (seeds) overlaps 'seed' (grid)");
    expect(await errorOf({ ...DETECTOR_GRID, datasets: ['x/data', 'y/data'] })).toContain("two datasets are named 'data'");
    expect(await errorOf({ ...DETECTOR_GRID, grid: { 'detector..x': [1] } })).toContain("'detector..x' is not a dotted config key");
    expect(await errorOf({ ...DETECTOR_GRID, grid: { 'detector.nms_iou': [0.5, 0.5] } })).toContain('lists the value 0.5 twice');
    expect(await errorOf({ ...DETECTOR_GRID, colour: 'red' })).toContain("unknown key(s) 'colour'");
  });

  it('refuses a value listed twice (two runs would compute the same thing)', async () => {
    // 1 and 1.0 are the same number once parsed.
    const msg = await errorOf({ base: { preset: 'fewshot' }, datasets: ['d'], grid: { 'fewshot.boost': [1, 1.0] } });
    expect(msg).toContain('grid fewshot.boost lists the value 1 twice');
  });

  it('orders jobs dataset by dataset, runs sharing every model output together, leaders first', async () => {
    const plan = expandSweep(
      await spec({
        base: { preset: 'fewshot' },
        datasets: ['d1', 'd2'],
        grid: { 'fewshot.threshold': ['adaptive', 'otsu'], 'fewshot.backbone': ['sam', 'mobilenetv2'] },
      }),
    );
    // r00 adaptive/sam, r01 adaptive/cnn, r02 otsu/sam, r03 otsu/cnn: two model signatures.
    expect(plan.jobs.map((j) => j.id)).toEqual(['r00/d1', 'r02/d1', 'r01/d1', 'r03/d1', 'r00/d2', 'r02/d2', 'r01/d2', 'r03/d2']);
    expect(plan.jobs.filter((j) => j.leader).map((j) => j.id)).toEqual(['r00/d1', 'r01/d1', 'r00/d2', 'r01/d2']);
  });
});

describe('what the runs of a sweep share (dry run)', () => {
  it('a 27-point grid over detector thresholds shares every model pass', async () => {
    const plan = expandSweep(await spec(DETECTOR_GRID));
    const passes = Object.fromEntries(sharedPasses(plan).map((p) => [p.name, p]));
    expect(passes['SAM encoder']).toMatchObject({ count: 1, per: 'image', variedBy: [] });
    expect(passes['Grounding DINO']).toMatchObject({ count: 1, per: 'image and caption' });
    expect(passes['LLM answer']).toMatchObject({ count: 1 });
    expect(passes['RAM tagging']).toBeUndefined(); // tagger classname
    expect(postModelKeys(plan)).toEqual(['detector.box_threshold', 'detector.size_threshold', 'detector.text_threshold']);
    const text = describePlan(plan);
    expect(text).toContain('27 runs x 1 dataset = 27 jobs');
    expect(text).toContain('27 runs, 1 SAM encoder pass per image, 1 LLM answer pass per category, 1 Grounding DINO pass per image and caption');
    expect(text).toContain('1 job computes model outputs first');
    expect(text).toMatch(/r26 {2}detector\.box_threshold=0\.3 {2}detector\.text_threshold=0\.3 {2}detector\.size_threshold=1/);
  });

  it('counts one detector pass per caption when the LLM sampling varies', async () => {
    const plan = expandSweep(await spec({ ...DETECTOR_GRID, grid: { 'llm.temperature': [0, 0.6, 1], 'detector.box_threshold': [0.1, 0.2] } }));
    const passes = Object.fromEntries(sharedPasses(plan).map((p) => [p.name, p]));
    expect(passes['Grounding DINO']).toMatchObject({ count: 3, variedBy: ['llm.temperature'] });
    expect(passes['LLM answer']).toMatchObject({ count: 3 });
    expect(passes['SAM encoder'].count).toBe(1);
    expect(plan.jobs.filter((j) => j.leader)).toHaveLength(3);
    expect(postModelKeys(plan)).toEqual(['detector.box_threshold']);
  });

  it('sees through a preset in the grid to the effective configs', async () => {
    const plan = expandSweep(await spec({ base: {}, datasets: ['d'], grid: { preset: ['fewshot', 'fewshot-cnn'], 'fewshot.boost': [1, 2] } }));
    const passes = Object.fromEntries(sharedPasses(plan).map((p) => [p.name, p]));
    expect(passes['SAM encoder'].count).toBe(1);
    expect(passes['backbone feature'].count).toBe(1);
    expect(passes['few-shot anomaly map']).toMatchObject({ count: 2, variedBy: ['fewshot.backbone'] });
  });

  it('iapas sweep --dry-run prints the plan; a bad spec is one line naming the key and value', async () => {
    const file = join(root, 'dry.yaml');
    await writeFile(file, 'base: { preset: fewshot }\ndatasets: [data]\ngrid:\n  fewshot.boost: [1, 2]\n  fewshot.max_prompts: [4, 8]\n');
    const ok = await runCli(['sweep', file, '--dry-run']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('4 runs x 1 dataset = 4 jobs (fewshot.boost (2) x fewshot.max_prompts (2))');
    expect(ok.stdout).toContain('varied after the models (no model re-run): fewshot.boost, fewshot.max_prompts');
    await writeFile(file, 'base: { preset: fewshot }\ndatasets: [data]\ngrid:\n  fewshot.max_prompts: [4, 0]\n');
    const bad = await runCli(['sweep', file, '--dry-run']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('grid fewshot.max_prompts = 0');
    expect(bad.stderr).toContain('fewshot.max_prompts: Number must be greater than or equal to 1');
  });
});

describe('grid size and value spellings', () => {
  const big = (n: number) => Array.from({ length: n }, (_, i) => -i);

  it('refuses a grid above --max-jobs from its size alone, before any value is looked at', async () => {
    // Every value is invalid (max_prompts >= 1, boost >= 0): expanding anything would report one.
    const raw = { base: { preset: 'fewshot' }, datasets: ['data/a'], grid: { 'fewshot.max_prompts': big(100), 'fewshot.boost': big(100), 'fewshot.work_size': big(100) } };
    const msg = await errorOf(raw);
    expect(msg).toContain('1000000 runs x 1 dataset = 1000000 jobs (fewshot.max_prompts (100) x fewshot.boost (100) x fewshot.work_size (100)), more than --max-jobs 10000');
    expect(msg).not.toContain('Number must be');

    const file = join(root, 'huge.json');
    await writeFile(file, JSON.stringify(raw));
    const res = await runCli(['sweep', file, '--dry-run']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('= 1000000 jobs');
    expect(res.stdout).toBe('');

    const small = await spec({ base: { preset: 'fewshot' }, datasets: ['data/a', 'data/b'], grid: { 'fewshot.boost': [1, 2] } });
    expect(() => expandSweep(small, { maxJobs: 3 })).toThrow('2 runs x 2 datasets = 4 jobs (fewshot.boost (2)), more than --max-jobs 3');
    expect(expandSweep(small, { maxJobs: 4 }).jobs).toHaveLength(4);
  });

  it('merges spellings of one value into one run, and says so', async () => {
    const raw = {
      base: { preset: 'fewshot' },
      datasets: ['data/a'],
      grid: { 'fewshot.threshold': ['fixed:0.3', 'fixed:0.30', 'fixed:.3', 'adaptive'], 'fewshot.boost': [0.3, '0.3'] },
    };
    const s = await spec(raw);
    expect(s.merged).toEqual([
      { factor: 'fewshot.threshold', value: 'fixed:0.30', into: 'fixed:0.3' },
      { factor: 'fewshot.threshold', value: 'fixed:.3', into: 'fixed:0.3' },
      { factor: 'fewshot.boost', value: '0.3', into: '0.3' },
    ]);
    const plan = expandSweep(s);
    expect(plan.runs.map((r) => r.assignment)).toEqual([
      { 'fewshot.threshold': 'fixed:0.3', 'fewshot.boost': 0.3 },
      { 'fewshot.threshold': 'adaptive', 'fewshot.boost': 0.3 },
    ]);
    const file = join(root, 'spellings.yaml');
    await writeFile(file, YAML.stringify(raw));
    const res = await runCli(['sweep', file, '--dry-run']);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('2 runs x 1 dataset = 2 jobs');
    expect(res.stdout).toContain('3 duplicate values merged (the same value once normalised): fewshot.threshold fixed:0.30 = fixed:0.3; fewshot.threshold fixed:.3 = fixed:0.3; fewshot.boost 0.3 = 0.3');
    // A number where the schema wants a string is not turned into one, nor a string into a policy it is not.
    expect(await errorOf({ ...raw, grid: { 'fewshot.threshold': ['fixed:abc'] } })).toContain("value 'abc' is not a number");
  });

  it("refuses a JSON spec's __proto__ as YAML's, and constructor / prototype keys", async () => {
    const cases: Array<[string, string]> = [
      ['{"datasets":["d"],"grid":{"__proto__":[1]}}', 'grid / __proto__'],
      ['{"datasets":["d"],"base":{"set":{"fewshot":{"__proto__":{"boost":2}}}}}', 'base / set / fewshot / __proto__'],
      ['{"datasets":["d"],"grid":{"fewshot.constructor":[1]}}', 'grid / fewshot.constructor'],
      ['{"datasets":["d"],"zip":[{"prototype":[1],"seed":[2]}]}', 'zip / 0 / prototype'],
    ];
    for (const [json, where] of cases) {
      const key = /(__proto__|constructor|prototype)/.exec(where)![1];
      const jsonFile = join(root, 'proto.json');
      const yamlFile = join(root, 'proto.yaml');
      await writeFile(jsonFile, json);
      await writeFile(yamlFile, YAML.stringify(JSON.parse(json)));
      const messages: string[] = [];
      for (const f of [jsonFile, yamlFile]) {
        try {
          await readSweepSpec(f);
          messages.push('accepted');
        } catch (err) {
          messages.push((err as Error).message.replace(f, 'FILE'));
        }
      }
      expect(messages[0]).toBe(`invalid sweep spec FILE, ${where}: key '${key}' is not allowed (it would reach the prototype of every object)`);
      expect(messages[1]).toBe(messages[0]);
    }
  });
});

describe('the README', () => {
  it("shows a spec that expands as its dry-run output says", async () => {
    const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### `iapas sweep`'));
    const yaml = section.slice(section.indexOf('```yaml\n') + 8, section.indexOf('```\n', section.indexOf('```yaml\n') + 8));
    const shown = section.slice(section.indexOf('```\nsweep ') + 4).split('```')[0].trim().split('\n');
    const file = join(root, 'readme-sweep.yaml');
    await writeFile(file, yaml);
    const res = await runCli(['sweep', file, '--dry-run']);
    expect(res.code).toBe(0);
    const printed = res.stdout.split('\n');
    for (const line of shown.filter((l) => !l.includes('...'))) expect(printed).toContain(line);
  });
});

describe('spec identity', () => {
  it('reads JSON as YAML does, and reports a changed spec as the keys that changed', async () => {
    const a = join(root, 'a.json');
    await writeFile(a, JSON.stringify({ base: { preset: 'fewshot' }, datasets: ['data'], grid: { 'fewshot.boost': [1, 2] } }));
    const before = specIdentity(await readSweepSpec(a));
    const after = specIdentity(await spec({ base: { preset: 'fewshot' }, datasets: ['data', 'more'], grid: { 'fewshot.boost': [1, 3] }, metric: 'aupro' }));
    const diff = identityDiff(before, after);
    expect(diff).toEqual(['datasets / more: added {"path":"' + join(root, 'more') + '","categories":null,"limit":null}', 'varied / fewshot.boost / values: [1,2] -> [1,3]']);
    // The metric and the name are not part of what a sweep computes.
    expect(identityDiff(before, specIdentity(await spec({ base: { preset: 'fewshot' }, datasets: ['data'], grid: { 'fewshot.boost': [1, 2] }, metric: 'aupro', name: 'x' })))).toEqual([]);
  });
});
