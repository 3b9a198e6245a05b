/**
 * The models.json entries of a run: every model file with its sha256 and size, so a run says
 * exactly what it ran. Each file is checked against the manifest's pin on the way (pins.ts):
 * builders make these records before they load anything, so a mismatch stops the run first.
 */
import { readFile } from 'node:fs/promises';
import type { BaseConfig } from '../config/schema.js';
import type { SamModelEntry } from '../models/sam/model-entry.js';
import { checkModelFile, type CheckedFile, type ModelCheck } from '../models/weights/pins.js';
import type { ModelRecord } from './records.js';

/** How a build checks its model files: the config's models dir and override. */
export function modelCheckOf(config: BaseConfig, env: { modelsDir: string }): ModelCheck {
  return { modelsDir: env.modelsDir, allowMismatch: config.allow_model_mismatch };
}

export async function fileRecord(path: string, check: ModelCheck): Promise<CheckedFile> {
  return checkModelFile(path, check);
}

export async function samModelRecord(name: string, e: SamModelEntry, check: ModelCheck): Promise<ModelRecord> {
  const tuned = await tunedOn(e.decoderPath);
  return {
    name,
    files: [await fileRecord(e.encoderPath, check), await fileRecord(e.decoderPath, check)],
    note: `${e.encoderTakesNormalised ? 'encoder takes normalised input' : 'encoder normalises inside'}${tuned ? `; tuned decoder, trained on ${tuned.join(', ')}` : ''}`,
  };
}

/** The datasets a decoder written by `iapas tune` saw, from the provenance file beside it. */
async function tunedOn(decoderPath: string): Promise<string[] | undefined> {
  try {
    const p = JSON.parse(await readFile(`${decoderPath}.provenance.json`, 'utf8')) as { data?: Array<{ name: string; root?: string }> };
    return (p.data ?? []).map((d) => (d.root ? `${d.name} (${d.root})` : d.name));
  } catch {
    return undefined;
  }
}
