/**
 * What consecutive runs of one process share (RunResources): a model is loaded once and released
 * once, by the resources and not by a pipeline; a memoised value is computed once even when asked
 * for twice at the same time, and dropped when the memory bound is reached; one cache object per
 * cache root.
 */
import { describe, expect, it } from 'vitest';
import { acquireModel, RunResources } from '../../src/pipeline/resources.js';
import { CONFIG_DEFAULTS } from '../../src/methods/registry.js';

describe('RunResources', () => {
  it('loads a shared model once and releases it once, at dispose', async () => {
    const res = new RunResources();
    let loads = 0;
    let releases = 0;
    const load = async () => ({ id: ++loads });
    const release = () => void releases++;
    const a = await acquireModel(res, 'm', load, release);
    const b = await acquireModel(res, 'm', load, release);
    expect(b.model).toBe(a.model);
    await a.dispose();
    await b.dispose();
    expect([loads, releases]).toEqual([1, 0]);
    await res.dispose();
    expect(releases).toBe(1);
    // Without resources, a pipeline loads and releases its own.
    const own = await acquireModel(undefined, 'm', load, release);
    await own.dispose();
    expect([loads, releases]).toEqual([2, 2]);
  });

  it('forgets a failed load, so the next run tries again', async () => {
    const res = new RunResources();
    let n = 0;
    const load = async () => {
      if (++n === 1) throw new Error('no file');
      return 'ok';
    };
    await expect(res.model('m', load, () => {})).rejects.toThrow('no file');
    expect(await res.model('m', load, () => {})).toBe('ok');
  });

  it('computes a memoised value once, also for concurrent callers, and drops old values past the bound', async () => {
    const res = new RunResources({ memoBytes: 100 });
    let computed = 0;
    const compute = (v: string) => async () => {
      computed++;
      await new Promise((r) => setTimeout(r, 10));
      return v;
    };
    const [x, y] = await Promise.all([res.memo('a', compute('A'), () => 60), res.memo('a', compute('A'), () => 60)]);
    expect([x, y, computed]).toEqual(['A', 'A', 1]);
    expect(await res.memo('a', compute('A'), () => 60)).toBe('A');
    expect(res.memoStats).toEqual({ hits: 1, computed: 1 });
    await res.memo('b', compute('B'), () => 60); // 120 bytes > 100: 'a' goes
    expect(await res.memo('a', compute('A2'), () => 60)).toBe('A2');
    expect(computed).toBe(3);
  });

  it('gives one cache object per root, none when the cache is off', () => {
    const res = new RunResources();
    const c1 = res.diskCache({ ...CONFIG_DEFAULTS, cache_dir: '/tmp/x-cache' });
    const c2 = res.diskCache({ ...CONFIG_DEFAULTS, cache_dir: '/tmp/x-cache' });
    const c3 = res.diskCache({ ...CONFIG_DEFAULTS, cache_dir: '/tmp/y-cache' });
    expect(c2).toBe(c1);
    expect(c3).not.toBe(c1);
    expect(res.diskCache({ ...CONFIG_DEFAULTS, cache: false })).toBeUndefined();
  });
});
