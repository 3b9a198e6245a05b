/**
 * The model passes methods share, named once so that a sweep mixing methods counts a shared
 * output (the SAM encoder's embedding, a backbone's features, SAM's masks) as one pass.
 */
import type { ModelPass } from '../../pipeline/method.js';
import { backboneEntry, usesSamEncoder } from '../../models/backbones/entries.js';

/** The keys that decide the object tag and the caption of a category (stage A of iap-as). */
export const CAPTION_INPUTS = ['tagger', 'object_tag', 'tagging', 'references', 'seed', 'captioner', 'caption', 'llm'];

// minisam-ms and minisam-ms64 are tensors of this pass (their grids are cached under 'features').
export const SAM_ENCODER_PASS: ModelPass = { name: 'SAM encoder', per: 'image', keys: ['sam.model'], inputKeys: [] };
export const BACKBONE_PASS: ModelPass = { name: 'backbone feature', per: 'image', keys: ['fewshot.backbone', 'mutual.backbone'], inputKeys: [] };
export const SAM_DECODER_PASS: ModelPass = { name: 'SAM decoder', per: 'distinct prompt (box or region)', keys: ['sam.model', 'sam.decoder'], inputKeys: [] };
export const GROUNDING_DINO_PASS: ModelPass = { name: 'Grounding DINO', per: 'image and caption', keys: ['detector.model'], inputKeys: CAPTION_INPUTS };

/** Whether a backbone's features come from the SAM encoder's pass (an unknown name counts as its own model). */
export function inSamEncoder(name: string): boolean {
  try {
    return usesSamEncoder(backboneEntry(name));
  } catch {
    return false;
  }
}

/** The shared passes a map method (fewshot, mutual) with this backbone makes, around its own. */
export function mapMethodPasses(backbone: string, useSam: boolean, own: readonly ModelPass[]): ModelPass[] {
  const inEncoder = inSamEncoder(backbone);
  return [...(useSam || inEncoder ? [SAM_ENCODER_PASS] : []), ...(inEncoder ? [] : [BACKBONE_PASS]), ...own, ...(useSam ? [SAM_DECODER_PASS] : [])];
}
