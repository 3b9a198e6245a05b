/**
 * The real samples and small models that sit beside the repository as ../shared on the build
 * machines and in CI (never inside it, and never read by src/). A test that needs one of them
 * says so through `describeWithShared`/`itWithShared`, which skip with the missing path in the
 * test's name when it is absent, so a clone without ../shared runs the rest and says why.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const SHARED_ROOT = resolve(REPO_ROOT, '..', 'shared');

/** A path inside ../shared. */
export const shared = (...parts: string[]): string => join(SHARED_ROOT, ...parts);

export const SHARED = {
  datasets: shared('datasets'),
  bertTokenizer: shared('models', 'tokenizers', 'bert-base-uncased'),
  ramDir: shared('models', 'ram'),
  tinyLlm: shared('models', 'llm', 'llama-2-tiny-random.gguf'),
  storiesLlm: shared('models', 'llm', 'stories260k.gguf'),
  mobilenetv2: shared('models', 'backbones', 'mobilenetv2-12-int8.onnx'),
};

/** The first of `paths` that does not exist, or undefined when all do. */
export function missingShared(...paths: string[]): string | undefined {
  return paths.find((p) => !existsSync(p));
}

function label(name: string, missing: string | undefined): string {
  return missing ? `${name} [skipped: ${missing} not found]` : name;
}

/** `describe` that runs only when every path exists; otherwise skipped, naming the missing path. */
export function describeWithShared(name: string, paths: string[], fn: () => void): void {
  const missing = missingShared(...paths);
  describe.skipIf(missing !== undefined)(label(name, missing), fn);
}

/** `it` that runs only when every path exists; otherwise skipped, naming the missing path. */
export function itWithShared(name: string, paths: string[], fn: () => Promise<void> | void, timeout?: number): void {
  const missing = missingShared(...paths);
  it.skipIf(missing !== undefined)(label(name, missing), fn, timeout);
}

/**
 * A models directory in the manifest's layout (<dir>/<model name>/<file>) holding the shared
 * MobileNetV2 as a link, for presets that resolve it by name like a user's pulled copy.
 */
export async function sharedModelsDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iapas-models-'));
  await mkdir(join(dir, 'mobilenetv2-12-int8'));
  await symlink(SHARED.mobilenetv2, join(dir, 'mobilenetv2-12-int8', 'mobilenetv2-12-int8.onnx'));
  return dir;
}
