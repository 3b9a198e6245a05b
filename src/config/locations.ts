/** Where a config's models and model-output cache live, resolved against the working directory. */
import { isAbsolute, resolve } from 'node:path';
import { defaultCacheRoot, DiskCache } from '../util/disk-cache.js';
import type { BaseConfig } from './schema.js';

export function modelsDirOf(config: BaseConfig): string {
  return isAbsolute(config.models_dir) ? config.models_dir : resolve(config.models_dir);
}

/** The model-output cache of a config, or undefined when `cache: false`. */
export function cacheOf(config: BaseConfig): DiskCache | undefined {
  if (!config.cache) return undefined;
  return new DiskCache(config.cache_dir ? resolve(config.cache_dir) : defaultCacheRoot());
}
