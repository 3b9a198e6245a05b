/**
 * The caption stage with a scripted LangChain chat model: realistic answers, so the whole path
 * (messages -> answer -> parser -> caption -> cache) can be checked word for word.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import type { ChatModelHandle } from '../../src/models/llm/chat-models.js';
import { CAPTION_CACHE_NAMESPACE, captionRecord, createLlmCaptioner } from '../../src/prompts/captioner.js';
import { DiskCache } from '../../src/util/disk-cache.js';

function scripted(responses: string[]): ChatModelHandle & { seen: string[][] } {
  const model = new FakeListChatModel({ responses });
  const seen: string[][] = [];
  const invoke = model.invoke.bind(model);
  model.invoke = (async (input: Parameters<typeof model.invoke>[0], opts?: Parameters<typeof model.invoke>[1]) => {
    seen.push((input as Array<{ content: string }>).map((m) => m.content));
    return invoke(input, opts);
  }) as typeof model.invoke;
  return { model, provider: 'openai', id: 'scripted', hash: async () => 'f'.repeat(64), callOptions: {}, dispose: async () => {}, seen };
}

describe('caption stage', () => {
  it('turns a typical chat answer into the reference caption form', async () => {
    const h = scripted(['Here are some anomalous nouns:\n\n1. Crack\n2. Scratches\n3. Broken cap\n4. scratch\n5. Stain']);
    const c = await createLlmCaptioner({ chatModel: h, log: () => {} });
    const r = await c.caption({ objectTag: 'bottle', category: 'bottle' });
    expect(r.words).toEqual(['crack', 'scratches', 'broken cap', 'stain', 'abnormal', 'defect']);
    expect(r.caption).toBe(' . crack. scratches. broken cap. stain. abnormal. defect, bottle.');
    expect(r.fallback).toBeUndefined();
    expect(h.seen[0][1]).toContain('find abnormal parts of bottle. Please write down');
    expect(captionRecord(r)).toEqual({
      template: 'iap-as@1',
      model: 'scripted',
      raw: r.raw,
      words: r.words,
      caption: r.caption,
    });
  });

  it('caches by template and variables: the model is asked once per distinct question', async () => {
    const cache = new DiskCache(await mkdtemp(join(tmpdir(), 'iapas-caption-')));
    const h = scripted(['crack, dent', 'hole', 'chip']);
    const c = await createLlmCaptioner({ chatModel: h, cache, log: () => {} });
    const a = await c.caption({ objectTag: 'bottle' });
    const b = await c.caption({ objectTag: 'bottle' });
    const d = await c.caption({ objectTag: 'screw' });
    expect([a.cached, b.cached, d.cached]).toEqual([false, true, false]);
    expect(b.caption).toBe(a.caption);
    expect(d.words[0]).toBe('hole');
    const ind = await createLlmCaptioner({ chatModel: h, cache, template: 'iap-as-industrial', log: () => {} });
    expect((await ind.caption({ objectTag: 'bottle' })).words[0]).toBe('chip');
    expect(h.seen.length).toBe(3);
    expect(cache.stats.get(CAPTION_CACHE_NAMESPACE)).toEqual({ hits: 1, misses: 3 });
  });

  it('logs and records the fallback when the answer has no usable words', async () => {
    const logs: string[] = [];
    const h = scripted(['I am sorry, but I cannot help with that request today.']);
    const c = await createLlmCaptioner({ chatModel: h, log: (m) => logs.push(m) });
    const r = await c.caption({ objectTag: 'grid', category: 'grid' });
    expect(r.words).toEqual(['abnormal', 'defect']);
    expect(r.caption).toBe(' . abnormal. defect, grid.');
    expect(r.fallback).toMatch(/default words abnormal, defect/);
    expect(logs.some((l) => l.startsWith('grid: ') && l.includes('default words'))).toBe(true);
  });
});
