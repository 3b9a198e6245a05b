import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frozenArrays } from '../../src/tuning/decoder-params.js';
import { toFrozen } from '../../src/tuning/decoder-forward.js';
import { flattenLora } from '../../src/tuning/lora.js';
import { epochOrder, train, type TrainerOptions } from '../../src/tuning/trainer.js';
import { realWeights, syntheticSample } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'iapas-tune-trainer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the tuning loop', () => {
  const fa = frozenArrays(realWeights());
  const frozen = toFrozen(fa);
  const samples = [syntheticSample(1, 120, 100, 30), syntheticSample(2, 80, 160, 20)];
  const base = (checkpointDir?: string): TrainerOptions => ({
    frozen,
    frozenArrays: fa,
    count: samples.length,
    sampleAt: (i) => samples[i],
    settings: { lora: { rank: 2, alpha: 2, targets: ['q', 'v'] }, lr: 3e-3, epochs: 2, seed: 4, losses: { bce: 1, dice: 1, iou: 1 }, checkpointEvery: 2 },
    identity: { data: 'synthetic' },
    checkpointDir,
  });

  it('visits every sample once per epoch, in an order fixed by (seed, epoch)', () => {
    expect([...epochOrder(7, 1, 0)].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(epochOrder(7, 1, 0)).toEqual(epochOrder(7, 1, 0));
    expect([0, 1, 2, 3].map((e) => epochOrder(7, 1, e).join())).not.toEqual(Array(4).fill(epochOrder(7, 1, 0).join()));
  });

  it('a run interrupted after its last checkpoint and resumed equals an uninterrupted run for the same seed', async () => {
    const whole = await train(base());
    expect(whole.finished).toBe(true);
    expect(whole.epochLosses).toHaveLength(2);

    const ck = join(dir, 'run');
    // Killed at step 3: the checkpoint of step 2 survives, step 3 is lost and taken again.
    const cut = await train({ ...base(ck), stopAfter: 3 });
    expect(cut.finished).toBe(false);
    expect(cut.state.step).toBe(3);
    const steps: number[] = [];
    const resumed = await train({ ...base(ck), onStep: (s) => steps.push(s) });
    expect(steps).toEqual([3, 4]);
    expect(resumed.epochLosses).toEqual(whole.epochLosses);
    expect(flattenLora(resumed.state.lora)).toEqual(flattenLora(whole.state.lora));
  }, 400_000);

  it('refuses a checkpoint of other settings before any step', async () => {
    const ck = join(dir, 'other');
    const cut = await train({ ...base(ck), stopAfter: 0 });
    expect(cut.state.step).toBe(0);
    writeFileSync(join(ck, 'checkpoint.json'), JSON.stringify({ step: 1, settings_sha256: 'something else', modules: [], epoch_losses: [], epoch_loss_sum: 0 }));
    const steps: number[] = [];
    await expect(train({ ...base(ck), onStep: (s) => steps.push(s) })).rejects.toThrow(/checkpoint of other settings/);
    expect(steps).toEqual([]);
  });
});
