/**
 * A method is one folder: src/methods/<method>/method.ts defines it (config sections, presets,
 * model passes, builder) and src/methods/registry.ts is the only file outside the folder that
 * knows it. These checks fail when a method's rules leak into another room or a definition is
 * left out of the registry.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkSections, configSchema, METHODS, PRESETS } from '../../src/methods/registry.js';
import type { MethodDefinition } from '../../src/pipeline/method.js';
import { REPO_ROOT } from '../support/shared.js';

const SRC = join(REPO_ROOT, 'src');
const METHODS_DIR = join(SRC, 'methods');
const methodFolders = readdirSync(METHODS_DIR).filter((n) => existsSync(join(METHODS_DIR, n, 'method.ts')));

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('a method is one folder', () => {
  it('every folder with a method.ts is registered, and only those', async () => {
    const defined: string[] = [];
    for (const folder of methodFolders) {
      const mod = (await import(pathToFileURL(join(METHODS_DIR, folder, 'method.ts')).href)) as Record<string, MethodDefinition<never>>;
      defined.push(...Object.values(mod).filter((v) => typeof v === 'object' && v !== null && 'build' in v).map((m) => m.name));
    }
    expect(METHODS.map((m) => m.name).sort()).toEqual(defined.sort());
    expect(methodFolders.length).toBeGreaterThanOrEqual(4);
  });

  it('outside its folder only the registry imports a method folder', () => {
    const leaks: string[] = [];
    for (const file of walk(SRC)) {
      const rel = relative(SRC, file).split(sep);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) {
        const target = join(file, '..', m[1]);
        const parts = relative(SRC, target).split(sep);
        if (parts[0] !== 'methods' || !methodFolders.includes(parts[1])) continue;
        const inside = rel[0] === 'methods' && rel[1] === parts[1];
        if (!inside && relative(SRC, file) !== join('methods', 'registry.ts')) leaks.push(`${relative(SRC, file)} -> ${m[1]}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it("the config schema is the base keys plus every method's sections", () => {
    const keys = Object.keys(configSchema.shape);
    for (const m of METHODS) for (const section of Object.keys(m.sections)) expect(keys).toContain(section);
    expect(keys).toContain('eval');
    expect(new Set(PRESETS.map((p) => p.name)).size).toBe(PRESETS.length);
  });

  it('a second method claiming a section or a preset is refused', () => {
    const fewshot = METHODS.find((m) => m.name === 'fewshot')!;
    expect(() => checkSections([fewshot, { ...fewshot, name: 'copy', presets: [] }])).toThrow(/section 'fewshot' of method 'copy' is already method 'fewshot''s/);
    expect(() => checkSections([{ ...fewshot, sections: { seed: fewshot.sections.fewshot } }])).toThrow(/'seed' .* is already a base key/);
    expect(() => checkSections([fewshot, { ...fewshot, name: 'copy', sections: {}, presets: fewshot.presets.map((p) => ({ ...p, method: 'copy' })) }])).toThrow(/preset 'fewshot' is defined by methods 'fewshot' and 'copy'/);
  });
});
