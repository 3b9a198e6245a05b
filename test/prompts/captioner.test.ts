/**
 * The caption stage on the toy GGUF models of ../shared/models/llm (random or story weights: the
 * answers are gibberish by design, so nothing here looks at the words a model writes, only at
 * structure: budgets, caching, determinism, grammar alphabet, caption validity).
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinCaption, loadBertTokenCounter, type TokenCounter } from '../../src/prompts/caption-text.js';
import { llamaModelLoadCount, type ChatLlamaCppLocal } from '../../src/models/llm/llama-cpp-chat-model.js';
import { createChatModel, parseLlmSettings } from '../../src/models/llm/chat-models.js';
import { createLlmCaptioner, createStaticCaptioner, type Captioner, type CaptionResult, type LlmCaptionerOptions } from '../../src/prompts/captioner.js';
import { DiskCache } from '../../src/util/disk-cache.js';
import { describeWithShared, missingShared, SHARED } from '../support/shared.js';
import { runCli } from '../support/cli.js';

const TINY = SHARED.tinyLlm;
const STORIES = SHARED.storiesLlm;
const BERT = SHARED.bertTokenizer;

let count: TokenCounter;
let cacheDir: string;
const logs: string[] = [];
const log = (m: string) => logs.push(m);

function expectValidCaption(r: CaptionResult, tag: string): void {
  expect(r.words.slice(-2).sort()).toEqual(expect.arrayContaining(['abnormal', 'defect']));
  for (const w of r.words) {
    expect(w).toBe(w.toLowerCase());
    expect(w).toBe(w.trim());
    expect(w).not.toMatch(/[.,:"'\n]/);
    expect(w.length).toBeGreaterThan(0);
  }
  expect(r.caption).toBe(joinCaption(r.words, tag));
  expect(count(r.caption)).toBeLessThanOrEqual(256);
}

beforeAll(async () => {
  if (!missingShared(BERT)) count = await loadBertTokenCounter(BERT);
  cacheDir = await mkdtemp(join(tmpdir(), 'iapas-llm-cache-'));
});

describeWithShared('llama-2-tiny-random (GGUF without chat template)', [TINY, BERT], () => {
  let captioner: Captioner;
  const llm = { model: TINY, temperature: 0, max_tokens: 12, threads: 1 };

  beforeAll(async () => {
    captioner = await createLlmCaptioner({ llm, cache: new DiskCache(cacheDir), countTokens: count, log });
  });
  afterAll(async () => {
    await captioner.dispose();
  });

  it('generates within the token budget and gives a valid caption from gibberish', async () => {
    const loads = llamaModelLoadCount();
    const r = await captioner.caption({ objectTag: 'bottle', category: 'bottle' });
    expect(llamaModelLoadCount()).toBe(loads + 1);
    expect(r.cached).toBe(false);
    expect(r.raw.length).toBeGreaterThan(0);
    expect(r.generated_tokens).toBeGreaterThan(0);
    expect(r.generated_tokens).toBeLessThanOrEqual(12);
    expect(r.chat_wrapper).toBe('General');
    expect(r.template.name).toBe('iap-as');
    expect(r.model).toMatchObject({ path: TINY, provider: 'llama-cpp' });
    expect(r.model.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(r.sampling).toMatchObject({ temperature: 0, max_tokens: 12 });
    expect(r.messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(r.messages[1].content).toContain('abnormal parts of bottle.');
    expectValidCaption(r, 'bottle');
    expect(logs.some((l) => l.includes('no chat template'))).toBe(true);
  });

  it('answers from the cache the second time, without loading the model', async () => {
    const first = await captioner.caption({ objectTag: 'bottle', category: 'bottle' });
    expect(first.cached).toBe(true);
    const loads = llamaModelLoadCount();
    const fresh = await createLlmCaptioner({ llm, cache: new DiskCache(cacheDir), countTokens: count, log });
    const again = await fresh.caption({ objectTag: 'bottle', category: 'bottle' });
    expect(again.cached).toBe(true);
    expect(again.raw).toBe(first.raw);
    expect(again.caption).toBe(first.caption);
    expect(llamaModelLoadCount()).toBe(loads);
    await fresh.dispose();
  });

  it('asks again when the seed, the sampling, the template or the variables change (one model load for all)', async () => {
    const cache = new DiskCache(cacheDir);
    const shared = await createChatModel(parseLlmSettings(llm));
    const loads = llamaModelLoadCount();
    const variants: Array<[LlmCaptionerOptions, string]> = [
      [{ llm: { ...llm, seed: 5 } }, 'bottle'],
      [{ llm: { ...llm, max_tokens: 6 } }, 'bottle'],
      [{ llm, template: 'iap-as-industrial' }, 'bottle'],
      [{ llm }, 'metal nut'],
    ];
    for (const [opts, tag] of variants) {
      const c = await createLlmCaptioner({ ...opts, chatModel: shared, cache, countTokens: count, log });
      const r = await c.caption({ objectTag: tag });
      expect(r.cached).toBe(false);
      if (opts.llm?.max_tokens === 6) expect(r.generated_tokens).toBeLessThanOrEqual(6);
      expectValidCaption(r, tag);
    }
    expect(llamaModelLoadCount()).toBe(loads + 1);
    await shared.dispose();
  });

  it('greedy decoding is deterministic, and so is sampling with a fixed seed', async () => {
    const h = await createChatModel(parseLlmSettings({ model: TINY, temperature: 0.6, top_p: 0.9, max_tokens: 10, seed: 3, threads: 1 }));
    const a = await createLlmCaptioner({ chatModel: h, llm: { model: TINY, temperature: 0.6, max_tokens: 10, seed: 3 }, countTokens: count, log });
    const r1 = await a.caption({ objectTag: 'screw' });
    const r2 = await a.caption({ objectTag: 'screw' });
    expect(r2.cached).toBe(false);
    expect(r2.raw).toBe(r1.raw);
    const g = await createLlmCaptioner({ chatModel: h, llm: { model: TINY, temperature: 0, max_tokens: 10 }, countTokens: count, log });
    const g1 = await g.caption({ objectTag: 'screw' });
    const g2 = await g.caption({ objectTag: 'screw' });
    expect(g2.raw).toBe(g1.raw);
    const m = h.model as ChatLlamaCppLocal;
    expect(m.isLoaded).toBe(true);
    // The budget, counted on the text itself. Re-tokenising can differ from the generated tokens
    // by the leading-space token SentencePiece adds at the start of a text, hence the +1.
    for (const r of [r1, g1]) {
      expect(r.generated_tokens).toBeLessThanOrEqual(10);
      expect(await m.countTokens(r.raw)).toBeLessThanOrEqual(10 + 1);
    }
    await a.dispose();
    expect(m.isLoaded).toBe(false);
  });
});

describeWithShared('stories260k with the JSON grammar', [STORIES, BERT], () => {
  it('the grammar keeps the answer inside its alphabet, and the parser/fallback still gives a valid caption', async () => {
    const c = await createLlmCaptioner({
      llm: { model: STORIES, temperature: 0, max_tokens: 48, json_grammar: true, threads: 1 },
      countTokens: count,
      log,
    });
    try {
      const r = await c.caption({ objectTag: 'carpet' });
      expect(r.parser).toBe('json-nouns');
      expect(r.generated_tokens).toBeLessThanOrEqual(48);
      expect(r.raw.trimStart().startsWith('[')).toBe(true);
      expect(r.raw).toMatch(/^[[\]"a-z \n,-]*$/);
      // Either a complete array was parsed, or (budget hit) the fallback said what it did.
      if (r.stop_reason === 'maxTokens') expect(r.fallback).toBeDefined();
      expectValidCaption(r, 'carpet');
    } finally {
      await c.dispose();
    }
  });
});

describe('static captioner', () => {
  it("gives the reference base caption 'defect, abnormal'", async () => {
    const r = await createStaticCaptioner().caption({ objectTag: 'bottle' });
    expect(r.caption).toBe('defect, abnormal');
    expect(r.words).toEqual(['defect', 'abnormal']);
    expect(r.model.provider).toBe('static');
  });
});

describeWithShared('iapas prompts generate', [TINY], () => {
  it('prints the raw answer, the cleaned words and the caption, and writes the record', async () => {
    const out = join(cacheDir, 'gen.json');
    const { stdout, code } = await runCli(
      ['prompts', 'generate', '--object-tag', 'bottle', '--model', TINY, '--max-tokens', '8', '--temperature', '0', '--threads', '1', '--json', out],
      { IAPAS_CACHE: cacheDir },
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/^raw answer \(\d+ tokens/m);
    expect(stdout).toMatch(/^words: +.*abnormal, defect$/m);
    expect(stdout).toMatch(/^caption: + \. .*, bottle\.$/m);
    const rec = JSON.parse(await readFile(out, 'utf8')) as CaptionResult;
    expect(rec.template.name).toBe('iap-as');
    expect(rec.model.path).toBe(TINY);
    expect(stdout).toContain(rec.caption);
    expect(rec.generated_tokens).toBeLessThanOrEqual(8);
  });
});
