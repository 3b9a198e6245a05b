import { describe, expect, it } from 'vitest';
import { cleanAnswer, dedupeItems, singularPhrase } from '../../src/prompts/clean.js';

describe('cleanAnswer (robust)', () => {
  it('keeps a plain comma list in order and appends the default words', () => {
    const r = cleanAnswer('crack, scratch, dent');
    expect(r.words).toEqual(['crack', 'scratch', 'dent', 'abnormal', 'defect']);
    expect(r.llmWords).toBe(3);
    expect(r.cleaned).toBe('crack. scratch. dent. abnormal. defect');
  });

  it('drops a preamble line and reads numbered lists', () => {
    const raw = 'Here are some words:\n\n1. Crack\n2. Scratch\n3) Broken cap\n10. dent.';
    expect(cleanAnswer(raw).words).toEqual(['crack', 'scratch', 'broken cap', 'dent', 'abnormal', 'defect']);
  });

  it('reads bullets, markdown and a label before a colon', () => {
    const raw = '* **crack**\n- scratch\n• stain (on the label)\nAnomalous nouns: hole, chip';
    expect(cleanAnswer(raw).words).toEqual(['crack', 'scratch', 'stain', 'hole', 'chip', 'abnormal', 'defect']);
  });

  it('drops quotes and stop words as whole words only', () => {
    const raw = `'crack', "scratch", “word”, none, part of the cap, sword`;
    expect(cleanAnswer(raw).words).toEqual(['crack', 'scratch', 'the cap', 'sword', 'abnormal', 'defect']);
  });

  it('removes duplicate items and duplicate words inside an item, first seen first', () => {
    const raw = 'dent, crack crack, Dent, scratch, crack';
    expect(cleanAnswer(raw).words).toEqual(['dent', 'crack', 'scratch', 'abnormal', 'defect']);
  });

  it('merges plural and singular into the form seen first', () => {
    expect(cleanAnswer('scratches, scratch, crack, cracks, cavity, cavities, glass').words).toEqual([
      'scratches',
      'crack',
      'cavity',
      'glass',
      'abnormal',
      'defect',
    ]);
  });

  it('does not duplicate the default words when the model wrote them', () => {
    expect(cleanAnswer('defect, crack, defects').words).toEqual(['defect', 'crack', 'abnormal']);
  });

  it('drops sentences and dangling conjunctions', () => {
    const raw = "crack, and dents, I hope this list helps you with the task, holes and, I'm sorry, sure";
    expect(cleanAnswer(raw).words).toEqual(['crack', 'dents', 'holes', 'abnormal', 'defect']);
  });

  it('gives only the default words for an empty or unusable answer', () => {
    for (const raw of ['', '   ', '...,,,', 'This is a long sentence with no list in it at all']) {
      const r = cleanAnswer(raw);
      expect(r.words).toEqual(['abnormal', 'defect']);
      expect(r.llmWords).toBe(0);
    }
  });

  it('is deterministic', () => {
    const raw = 'b, a, c, a, d, e, b';
    expect(cleanAnswer(raw)).toEqual(cleanAnswer(raw));
    expect(cleanAnswer(raw).words.slice(0, 5)).toEqual(['b', 'a', 'c', 'd', 'e']);
  });
});

describe('cleanAnswer (reference mode)', () => {
  it('follows the reference rules with first-seen order', () => {
    const r = cleanAnswer('crack, scratch scratch, crack, dent.', { mode: 'reference' });
    expect(r.words).toEqual(['crack', 'scratch', 'dent', 'abnormal', 'defect']);
    expect(r.cleaned).toBe('crack. scratch. dent. abnormal. defect');
  });

  it('removes "word" and "none" as substrings and "of"/"part" as words, as the reference did', () => {
    const r = cleanAnswer('sword, none of it, part, partial', { mode: 'reference' });
    expect(r.words).toEqual(['s', 'it', 'partial', 'abnormal', 'defect']);
  });

  it('keeps a preamble glued to the first item (the reference did not split lines)', () => {
    const r = cleanAnswer('Here are some: crack, dent', { mode: 'reference' });
    expect(r.words[0]).toBe('Here are some: crack');
  });
});

describe('plural helpers', () => {
  it('singularises the last word only', () => {
    expect(singularPhrase('broken glasses')).toBe('broken glass');
    expect(singularPhrase('scratches')).toBe('scratch');
    expect(singularPhrase('holes')).toBe('hole');
    expect(singularPhrase('cavities')).toBe('cavity');
    expect(singularPhrase('glass')).toBe('glass');
    expect(singularPhrase('gas')).toBe('gas');
  });
  it('dedupeItems keeps the first surface form', () => {
    expect(dedupeItems(['holes', 'hole', 'crack'])).toEqual(['holes', 'crack']);
  });
});
