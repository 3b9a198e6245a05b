export * from './manifest.js';
export * from './download.js';
export * from './resolve.js';
