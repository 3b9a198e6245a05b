/**
 * The models several methods load (SAM, a feature backbone, Grounding DINO), taken through the
 * build's run resources: in a sweep every run of the process shares one load. The keys name
 * everything a load depends on, the cache root included, since a model writes its outputs to the
 * cache it was loaded with.
 */
import { loadBackbone, type BackboneEntry } from '../../models/backbones/index.js';
import type { Backbone } from '../../models/backbones/types.js';
import { GroundingDino } from '../../models/grounding-dino/model.js';
import { loadSam } from '../../models/sam/load.js';
import type { SamModel } from '../../models/sam/model.js';
import { acquireModel } from '../../pipeline/resources.js';
import type { BuildEnv } from '../../pipeline/types.js';

export interface Acquired<T> {
  model: T;
  /** The resources' key: a model loaded on top of this one names it in its own key. */
  key: string;
  /** Gives this pipeline's use of the model up (a shared model stays loaded until the resources are disposed). */
  dispose(): Promise<void>;
}

/** `decoder`: sam.decoder, a decoder file used instead of the model's own. */
export async function acquireSam(name: string, env: BuildEnv, decoder?: string): Promise<Acquired<SamModel>> {
  const key = `sam\0${name}\0${decoder ?? ''}\0${env.modelsDir}\0${env.cache?.root ?? ''}`;
  const h = await acquireModel(env.resources, key, () => loadSam(name, env.modelsDir, env.cache, decoder), (m) => m.dispose());
  return { ...h, key };
}

/** A backbone; SAM-encoder backbones run on `sam`'s sessions, so its key is part of theirs. */
export async function acquireBackbone(entry: BackboneEntry, sam: Acquired<SamModel>, env: BuildEnv): Promise<Acquired<Backbone>> {
  const key = `backbone\0${JSON.stringify(entry)}\0${env.modelsDir}\0${sam.key}`;
  const h = await acquireModel(
    env.resources,
    key,
    () => loadBackbone(entry, { sam: sam.model, modelsDir: env.modelsDir, cache: env.cache }),
    (b) => b.dispose?.(),
  );
  return { ...h, key };
}

export async function acquireGroundingDino(dir: string, env: BuildEnv): Promise<Acquired<GroundingDino>> {
  const key = `gdino\0${dir}\0${env.cache?.root ?? ''}`;
  const h = await acquireModel(env.resources, key, () => GroundingDino.load(dir, { cache: env.cache }), (m) => m.dispose());
  return { ...h, key };
}
