export { generateSyntheticDataset, renderSample, DEFAULT_SYNTH, type SynthOptions, type SynthCounts, type SynthResult, type SynthSample } from './generate.js';
export { SCENE_KINDS, type SceneKind } from './scenes.js';
export { DEFECT_KINDS, type DefectKind } from './defects.js';
