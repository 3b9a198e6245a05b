export * from './model.js';
export * from './model-entry.js';
export * from './preprocess.js';
export * from './region-prompts.js';
export * from './transforms.js';
export * from './combine.js';
