/** Help texts read the defaults from the config schema and the preset list, so they cannot drift. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { PRESET_NAMES, CONFIG_DEFAULTS } from '../../src/methods/registry.js';

describe('help texts', () => {
  it('iapas run names every preset and the schema defaults', async () => {
    const { stdout, code } = await runCli(['run', '--help']);
    expect(code).toBe(0);
    const text = stdout.replace(/\s+/g, ' ');
    for (const p of PRESET_NAMES) expect(text).toContain(p);
    expect(text).toContain(`Grounding DINO box threshold (default ${CONFIG_DEFAULTS.detector.box_threshold})`);
    expect(text).toContain(`keep boxes smaller than object size times this (default ${CONFIG_DEFAULTS.detector.size_threshold})`);
    expect(text).toContain(`evaluation resolution (default ${CONFIG_DEFAULTS.eval.resolution})`);
  });

  it('iapas eval is the same command as iapas run', async () => {
    const run = await runCli(['run', '--help']);
    const evalHelp = await runCli(['eval', '--help']);
    expect(evalHelp.stdout.replace(/^Usage: iapas (eval|run)/, '')).toBe(run.stdout.replace(/^Usage: iapas (eval|run)/, ''));
  });

  it('prompts generate and evaluate take their defaults from the schema', async () => {
    const gen = (await runCli(['prompts', 'generate', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(gen).toContain(`(default: ${CONFIG_DEFAULTS.llm.temperature})`);
    expect(gen).toContain(`(default: ${CONFIG_DEFAULTS.llm.max_tokens})`);
    const ev = (await runCli(['evaluate', '--help'])).stdout.replace(/\s+/g, ' ');
    expect(ev).toContain(`(default: "${CONFIG_DEFAULTS.eval.resolution}")`);
    expect(ev).toContain(`(default: "${CONFIG_DEFAULTS.eval.aupro}")`);
  });
});
