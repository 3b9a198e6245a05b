/**
 * The alignment rule (fewshot.align=turn) on generated objects: when the references agree on a
 * pose it applies, a turned test image is scored in the references' pose and its map comes back
 * in its own frame; references at varied poses, an image in the references' pose, and an image
 * whose turn the references contradict are left as they are.
 */
import { describe, expect, it } from 'vitest';
import { GROUND, part, SIDE, streaks, turned } from '../../support/pose-parts.js';
import type { RgbImage } from '../../../src/image/types.js';
import { categoryPoses, imageAlignment, scoreInReferencePose, turnSpread } from '../../../src/methods/fewshot/alignment.js';


const references = [part(1), turned(part(2), 2), turned(part(3), -2, 3, 0), part(4)];

function meanAbsDiff(a: RgbImage, b: RgbImage): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

describe('turnSpread', () => {
  it('measures turns on the circle and axes on the half circle', () => {
    const full = turnSpread([179, -179]);
    expect(Math.abs(Math.abs(full.mean) - 180)).toBeLessThan(1e-9);
    expect(full.spread).toBeCloseTo(1, 9);
    const wide = turnSpread([0, 120]);
    expect(wide.mean).toBeCloseTo(60, 9);
    expect(wide.spread).toBeCloseTo(60, 9);
    const axis = turnSpread([10, 190], 180);
    expect(axis.spread).toBeCloseTo(0, 9);
    expect(axis.mean).toBeCloseTo(10, 9);
    expect(turnSpread([2, 178], 180).spread).toBeCloseTo(2, 9);
  });
});

describe('categoryPoses', () => {
  it('does not apply where the references read as inconsistent turns', () => {
    // Flat noise: no orientation to read, the mutual turns do not add up.
    const noise = (seed: number): RgbImage => {
      let v = seed * 7919 + 17;
      const data = Uint8Array.from({ length: SIDE * SIDE * 3 }, () => ((v = (v * 16807) % 2147483647) % 60) + 100);
      return { width: SIDE, height: SIDE, data };
    };
    expect(categoryPoses([noise(1), noise(2), noise(3), noise(4)], 'nearest').applies).toBe(false);
  });

  it('applies when the references agree on a pose', () => {
    const poses = categoryPoses(references);
    expect(poses.applies).toBe(true);
    expect(poses.referenceSpread).toBeLessThanOrEqual(10);
  });

  it('does not apply to references at varied poses, nor to a single reference', () => {
    const varied = categoryPoses([part(1), turned(part(2), 60), turned(part(3), -45), part(4)]);
    expect(varied.applies).toBe(false);
    expect(varied.referenceSpread).toBeGreaterThan(10);
    expect(categoryPoses([part(1)]).applies).toBe(false);
  });
});

describe('imageAlignment and scoreInReferencePose', () => {
  const poses = categoryPoses(references);

  it('leaves an image in the references pose as it is', () => {
    expect(imageAlignment(part(9), poses).pose).toBeNull();
  });

  it('finds the turn of a turned image, scores it in the references pose, and maps back to its frame', async () => {
    const test = turned(part(9), 130, 6, -4);
    const a = imageAlignment(test, poses);
    expect(a.pose).not.toBeNull();
    expect(Math.abs(a.pose!.angle - 130)).toBeLessThanOrEqual(3);
    let seen: RgbImage | null = null;
    // The map a stand-in scorer gives: the gray value of each pixel of what it was handed.
    const map = await scoreInReferencePose(test, a.pose, async (img) => {
      seen = img;
      return Float32Array.from({ length: img.width * img.height }, (_, i) => img.data[i * 3]);
    });
    // What was scored lies like the references, far closer than the test image as it came.
    expect(meanAbsDiff(seen!, references[0])).toBeLessThan(meanAbsDiff(test, references[0]) / 3);
    // The map is in the test image's frame: it follows the test image's own pixels.
    let off = 0;
    for (let i = 0; i < map.length; i++) off += Math.abs(map[i] - test.data[i * 3]);
    expect(off / map.length).toBeLessThan(8);
  });

  it("'nearest' takes references at varied poses and turns a test to the nearest one", () => {
    const varied = categoryPoses([part(1), turned(part(2), 60), turned(part(3), -45), part(4)], 'nearest');
    expect(varied.applies).toBe(true);
    expect(Math.abs(varied.offsets[1] - 60)).toBeLessThanOrEqual(3);
    expect(Math.abs(varied.offsets[2] + 45)).toBeLessThanOrEqual(3);
    // Turned by 70 from the first reference: 10 from the second one's pose, the nearest.
    const a = imageAlignment(turned(part(9), 70), varied);
    expect(a.pose).not.toBeNull();
    expect(Math.abs(a.pose!.angle - 10)).toBeLessThanOrEqual(3);
    // In the second reference's pose already: left as it is.
    expect(imageAlignment(turned(part(9), 61), varied).pose).toBeNull();
  });

  it('leaves every image alone where the category rule does not apply', () => {
    const varied = categoryPoses([part(1), turned(part(2), 60), turned(part(3), -45), part(4)]);
    expect(imageAlignment(turned(part(9), 90), varied).pose).toBeNull();
  });

  it('turns a half-turn-symmetric object back onto the references axis', () => {
    const bar = (seed: number): RgbImage => {
      const img = part(seed);
      // Paint the disc over with the ground: a plain bar looks the same after a half turn.
      for (let y = 0; y < SIDE; y++)
        for (let x = 0; x < SIDE; x++) if (Math.hypot(x - 120, y - 80) < 18 && !(Math.abs(y - 80) < 9 && Math.abs(x - 80) < 45)) img.data.fill(GROUND, (y * SIDE + x) * 3, (y * SIDE + x) * 3 + 3);
      return img;
    };
    const barPoses = categoryPoses([bar(1), bar(2), turned(bar(3), 2), bar(4)]);
    expect(barPoses.applies).toBe(true);
    const a = imageAlignment(turned(bar(9), 50), barPoses);
    expect(a.pose).not.toBeNull();
    expect(turnSpread([a.pose!.angle, 50], 180).spread).toBeLessThanOrEqual(3);
  });
});

describe("'objects'", () => {

  it("applies to an object on a plain ground where 'turn' does, and aligns its turned test images", () => {
    const poses = categoryPoses(references, 'objects');
    expect(poses.applies).toBe(true);
    expect(poses.objectDetail!).toBeGreaterThan(1.5);
    const a = imageAlignment(turned(part(9), 130, 6, -4), poses);
    expect(a.pose).not.toBeNull();
    expect(Math.abs(a.pose!.angle - 130)).toBeLessThanOrEqual(3);
  });

  it("leaves a one-axis texture alone that 'turn' would align, at any axis", () => {
    for (const angle of [0, 40]) {
      const refs = [streaks(1, angle), streaks(2, angle), streaks(3, angle + 1), streaks(4, angle)];
      expect(categoryPoses(refs, 'turn').applies).toBe(true);
      const poses = categoryPoses(refs, 'objects');
      expect(poses.applies).toBe(false);
      expect(poses.objectDetail!).toBeLessThan(1.5);
      expect(imageAlignment(streaks(9, angle + 30), poses).pose).toBeNull();
    }
  });

  it('does not apply to objects at varied poses', () => {
    expect(categoryPoses([part(1), turned(part(2), 60), turned(part(3), -45), part(4)], 'objects').applies).toBe(false);
  });
});
