/**
 * A training state on disk: `checkpoint.json` (step, losses, a hash of the settings, the module
 * list) and `checkpoint.bin` (every float of the LoRA parameters and Adam's moments, in module
 * order). Both are written to temporary names and renamed, so a kill mid-write leaves the
 * previous checkpoint whole.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../util/errors.js';
import type { LoraArrays } from './lora.js';
import type { TrainState } from './train-step.js';

const META = 'checkpoint.json';
const DATA = 'checkpoint.bin';

export interface CheckpointMeta {
  step: number;
  settings_sha256: string;
  /** Sum of the losses of the current epoch so far, and each finished epoch's mean. */
  epoch_loss_sum: number;
  epoch_losses: number[];
  modules: Array<{ name: string; in: number; out: number; rank: number }>;
}

function parts(state: TrainState): Float32Array[] {
  return Object.keys(state.lora)
    .sort()
    .flatMap((k) => [state.lora[k].down, state.lora[k].up, state.m[k].down, state.m[k].up, state.v[k].down, state.v[k].up]);
}

export async function saveCheckpoint(dir: string, state: TrainState, meta: Omit<CheckpointMeta, 'step' | 'modules'>): Promise<void> {
  const all = parts(state);
  const total = all.reduce((s, a) => s + a.length, 0);
  const flat = new Float32Array(total);
  let at = 0;
  for (const a of all) {
    flat.set(a, at);
    at += a.length;
  }
  const modules = Object.keys(state.lora)
    .sort()
    .map((name) => ({ name, in: state.lora[name].in, out: state.lora[name].out, rank: state.lora[name].down.length / state.lora[name].in }));
  const full: CheckpointMeta = { step: state.step, modules, ...meta };
  await writeFile(join(dir, `${DATA}.tmp`), new Uint8Array(flat.buffer));
  await writeFile(join(dir, `${META}.tmp`), JSON.stringify(full));
  await rename(join(dir, `${DATA}.tmp`), join(dir, DATA));
  await rename(join(dir, `${META}.tmp`), join(dir, META));
}

/** The saved state, or undefined when the directory holds none; a checkpoint of other settings is an error. */
export async function loadCheckpoint(dir: string, settingsSha: string): Promise<{ state: TrainState; meta: CheckpointMeta } | undefined> {
  if (!existsSync(join(dir, META))) return undefined;
  const meta = JSON.parse(await readFile(join(dir, META), 'utf8')) as CheckpointMeta;
  if (meta.settings_sha256 !== settingsSha) {
    throw new UserError(`tune: ${dir} holds a checkpoint of other settings (data, config or seed); use another --out or delete ${join(dir, META)}`);
  }
  const bytes = await readFile(join(dir, DATA));
  const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  let at = 0;
  const take = (n: number): Float32Array => {
    const a = flat.slice(at, at + n);
    at += n;
    return a;
  };
  const lora: LoraArrays = {};
  const m: LoraArrays = {};
  const v: LoraArrays = {};
  for (const mod of meta.modules) {
    const dn = mod.in * mod.rank;
    const up = mod.rank * mod.out;
    const shape = { in: mod.in, out: mod.out };
    lora[mod.name] = { down: take(dn), up: take(up), ...shape };
    m[mod.name] = { down: take(dn), up: take(up), ...shape };
    v[mod.name] = { down: take(dn), up: take(up), ...shape };
  }
  if (at !== flat.length) throw new UserError(`tune: ${join(dir, DATA)} does not match its checkpoint.json; delete both to start over`);
  return { state: { step: meta.step, lora, m, v }, meta };
}
