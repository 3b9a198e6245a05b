/**
 * fewshot.augment=auto: turned reference copies only where the references show an object at
 * varied poses. The rule reads the references alone; generated objects (a bar with a disc at one
 * end on a plain ground) and a streaked texture that fills the frame stand in for the two kinds.
 */
import { describe, expect, it } from 'vitest';
import { part, streaks, turned } from '../../support/pose-parts.js';
import { copiesRule, referencePoseFigures, resolveAugment } from '../../../src/methods/fewshot/augment.js';
import { categoryPoses } from '../../../src/methods/fewshot/alignment.js';




describe('copiesRule', () => {
  it('needs an object, varied poses and two references', () => {
    expect(copiesRule({ count: 4, objectDetail: 2.8, referenceSpread: 28 })).toBe(true);
    // A texture at varied poses (MVTec grid, KSDD): no copies.
    expect(copiesRule({ count: 4, objectDetail: 1.0, referenceSpread: 88 })).toBe(false);
    // An object at one pose (capsule): alignment's case, no copies.
    expect(copiesRule({ count: 4, objectDetail: 2.9, referenceSpread: 1 })).toBe(false);
    expect(copiesRule({ count: 1, objectDetail: 2.9, referenceSpread: 40 })).toBe(false);
    // The thresholds are align=objects' and turn's: detail 1.5 counts as an object, a spread of exactly 10 degrees as one pose.
    expect(copiesRule({ count: 2, objectDetail: 1.5, referenceSpread: 10.5 })).toBe(true);
    expect(copiesRule({ count: 2, objectDetail: 1.49, referenceSpread: 60 })).toBe(false);
    expect(copiesRule({ count: 2, objectDetail: 3, referenceSpread: 10 })).toBe(false);
    expect(copiesRule({ count: 2, objectDetail: 3, referenceSpread: 10.5 }, { agreeDegrees: 20, minTurnDegrees: 5, minObjectDetail: 1.5 })).toBe(false);
  });
});

describe('resolveAugment', () => {
  const varied = [part(1), turned(part(2), 60), turned(part(3), -45), part(4)];
  const onePose = [part(1), turned(part(2), 2), turned(part(3), -2), part(4)];

  it("gives an object at varied poses 'rot45' copies ('auto-rot90': quarter turns) and records what it read", () => {
    const r = resolveAugment('auto', varied);
    expect(r.mode).toBe('rot45');
    expect(r.figures!.objectDetail).toBeGreaterThan(1.5);
    expect(r.figures!.referenceSpread).toBeGreaterThan(10);
    expect(resolveAugment('auto-rot90', varied).mode).toBe('rot90');
  });

  it('gives no copies to an object at one pose, a texture at varied poses, or one reference', () => {
    expect(resolveAugment('auto', onePose).mode).toBe('none');
    const texture = [streaks(1, 0), streaks(2, 50), streaks(3, -35), streaks(4, 80)];
    const t = resolveAugment('auto', texture);
    expect(t.figures!.objectDetail).toBeLessThan(1.5);
    expect(t.mode).toBe('none');
    expect(resolveAugment('auto', [turned(part(2), 60)]).mode).toBe('none');
  });

  it("reads the figures align=objects measures, and fixed modes read nothing", () => {
    const poses = categoryPoses(varied, 'objects');
    expect(referencePoseFigures(varied, poses)).toEqual({ count: 4, objectDetail: poses.objectDetail, referenceSpread: poses.referenceSpread });
    expect(poses.applies).toBe(false);
    expect(() => referencePoseFigures(varied, categoryPoses(varied, 'turn'))).toThrow(/objects/);
    for (const mode of ['none', 'rot90', 'rot45', 'flip'] as const) expect(resolveAugment(mode, varied)).toEqual({ mode });
  });
});
