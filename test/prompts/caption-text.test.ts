import { describe, expect, it } from 'vitest';
import { buildCaption, charBoundCounter, joinCaption, loadBertTokenCounter, MAX_CAPTION_TOKENS } from '../../src/prompts/caption-text.js';
import { extractJsonArray, parseNouns } from '../../src/prompts/parsers.js';
import { itWithShared, SHARED } from '../support/shared.js';

const BERT = SHARED.bertTokenizer;

describe('caption', () => {
  it('has the reference form with the object tag kept', () => {
    expect(joinCaption(['scratch', 'crack', 'abnormal', 'defect'], 'bottle')).toBe(' . scratch. crack. abnormal. defect, bottle.');
    const b = buildCaption(['scratch', 'abnormal', 'defect'], ' metal nut ');
    expect(b.caption).toBe(' . scratch. abnormal. defect, metal nut.');
    expect(b.dropped).toEqual([]);
  });

  itWithShared('counts BERT tokens with the special tokens', [BERT], async () => {
    const count = await loadBertTokenCounter(BERT);
    // [CLS] . scratch . abnormal . defect , bottle . [SEP]
    expect(count(' . scratch. abnormal. defect, bottle.')).toBe(11);
    expect(charBoundCounter(' . scratch. abnormal. defect, bottle.')).toBeGreaterThanOrEqual(11);
  });

  itWithShared('drops whole trailing model phrases to fit 256 tokens, keeping the default words and the tag', [BERT], async () => {
    const count = await loadBertTokenCounter(BERT);
    const model = Array.from({ length: 120 }, (_, i) => `crack${i} dent`);
    const words = [...model, 'abnormal', 'defect'];
    const b = buildCaption(words, 'bottle', { countTokens: count });
    expect(b.tokens).toBeLessThanOrEqual(MAX_CAPTION_TOKENS);
    expect(count(b.caption)).toBe(b.tokens);
    expect(b.dropped.length).toBeGreaterThan(0);
    // What stays is a prefix of the model phrases, then the defaults; what goes is the rest, whole.
    const kept = b.words.slice(0, -2);
    expect(kept).toEqual(model.slice(0, kept.length));
    expect(b.dropped).toEqual(model.slice(kept.length));
    expect(b.words.slice(-2)).toEqual(['abnormal', 'defect']);
    expect(b.caption.endsWith(', bottle.')).toBe(true);
    // One more phrase would not have fitted.
    expect(count(joinCaption([...kept, model[kept.length], 'abnormal', 'defect'], 'bottle'))).toBeGreaterThan(MAX_CAPTION_TOKENS);
  });

  it('refuses when even the default words and the tag do not fit', () => {
    expect(() => buildCaption(['crack', 'abnormal', 'defect'], 'x'.repeat(300))).toThrow(/even without model words/);
  });
});

describe('parsers', () => {
  it('json-nouns reads a JSON array, even with text around it', () => {
    const r = parseNouns('Sure! ["Crack", "scratch", "broken cap", "crack", 3] no', 'json-nouns');
    // A non-string element makes it not an array of strings: cleaning rules on the raw text.
    expect(r.fallback).toMatch(/not a JSON array/);
    const ok = parseNouns('Sure! ["Crack", "scratches", "broken cap", "scratch"] hope that helps', 'json-nouns');
    expect(ok.fallback).toBeUndefined();
    expect(ok.words).toEqual(['crack', 'scratches', 'broken cap', 'abnormal', 'defect']);
  });

  it('falls back to the cleaning rules, then to the default words', () => {
    const cut = parseNouns('["crack", "dent", "sta', 'json-nouns');
    expect(cut.fallback).toMatch(/cleaning rules/);
    expect(cut.words).toEqual(['crack', 'dent', 'sta', 'abnormal', 'defect']);
    const empty = parseNouns('[]', 'json-nouns');
    expect(empty.words).toEqual(['abnormal', 'defect']);
    expect(empty.fallback).toMatch(/no usable nouns.*default words/);
    const none = parseNouns('', 'nouns');
    expect(none.words).toEqual(['abnormal', 'defect']);
    expect(none.fallback).toMatch(/default words abnormal, defect/);
    expect(parseNouns('crack, dent', 'nouns').fallback).toBeUndefined();
  });

  it('extractJsonArray ignores trailing brackets after the array', () => {
    expect(extractJsonArray('x ["a", "b"] and [c]')).toEqual(['a', 'b']);
    expect(extractJsonArray('no array')).toBeUndefined();
    expect(extractJsonArray('{"a": 1}')).toBeUndefined();
  });
});
