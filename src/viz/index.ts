export * from './colormap.js';
export * from './draw.js';
export * from './overlay.js';
export * from './figure.js';
export * from './write.js';
