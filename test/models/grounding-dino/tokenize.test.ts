import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CaptionTokenizer, subSentenceMasks } from '../../../src/models/grounding-dino/text.js';
import { prepareCaption } from '../../../src/models/grounding-dino/postprocess.js';
import { DEFAULT_BERT_DIR } from '../../support/tiny-models.js';
import { describeWithShared } from '../../support/shared.js';

// Expected ids written down once from the tokenizer library; each id is checked again against
// vocab.txt (line id+1 holds the wordpiece) so a wrong table cannot pass.
const CASES: Array<[string, string, number[], string[]]> = [
  ['a cat. a remote control.', 'a cat. a remote control.', [101, 1037, 4937, 1012, 1037, 6556, 2491, 1012, 102], ['[CLS]', 'a', 'cat', '.', 'a', 'remote', 'control', '.', '[SEP]']],
  ['  Scratch. Crack. Hole ', 'scratch. crack. hole.', [101, 11969, 1012, 8579, 1012, 4920, 1012, 102], ['[CLS]', 'scratch', '.', 'crack', '.', 'hole', '.', '[SEP]']],
  [
    ' . discoloration, scratches, abnormal, defect, metal nut.',
    '. discoloration, scratches, abnormal, defect, metal nut.',
    [101, 1012, 12532, 10626, 3370, 1010, 25980, 1010, 19470, 1010, 21262, 1010, 3384, 17490, 1012, 102],
    ['[CLS]', '.', 'disco', '##lor', '##ation', ',', 'scratches', ',', 'abnormal', ',', 'defect', ',', 'metal', 'nut', '.', '[SEP]'],
  ],
  ['hazelnut. toothbrush', 'hazelnut. toothbrush.', [101, 14015, 24072, 1012, 11868, 18623, 1012, 102], ['[CLS]', 'hazel', '##nut', '.', 'tooth', '##brush', '.', '[SEP]']],
  ['close-up. zipper', 'close-up. zipper.', [101, 2485, 1011, 2039, 1012, 22082, 1012, 102], ['[CLS]', 'close', '-', 'up', '.', 'zipper', '.', '[SEP]']],
];

describeWithShared('caption tokenisation (BERT uncased)', [DEFAULT_BERT_DIR], () => {
  let tok: CaptionTokenizer;
  let vocab: string[];
  beforeAll(async () => {
    vocab = readFileSync(join(DEFAULT_BERT_DIR, 'vocab.txt'), 'utf8').split('\n');
    tok = await CaptionTokenizer.load(DEFAULT_BERT_DIR);
  });

  it.each(CASES)('%j', (raw, prepared, ids, pieces) => {
    expect(prepareCaption(raw)).toBe(prepared);
    const enc = tok.encode(prepared);
    expect(enc.ids).toEqual(ids);
    expect(enc.tokens).toEqual(pieces);
    expect(ids.map((i) => vocab[i])).toEqual(pieces);
    expect(enc.truncated).toBe(false);
  });

  it('cuts captions longer than max_text_len and keeps [SEP] last', () => {
    const enc = tok.encode(prepareCaption(Array.from({ length: 300 }, () => 'crack').join(' ')), 256);
    expect(enc.ids).toHaveLength(256);
    expect(enc.ids[255]).toBe(102);
    expect(enc.truncated).toBe(true);
  });
});

describe('sub-sentence masks (IDEA export inputs)', () => {
  it('matches the hand-built example "[CLS] the running dog . [SEP]"', () => {
    const special = new Set([101, 102, 1012, 1029]);
    const { mask, positionIds } = subSentenceMasks([101, 1996, 2770, 3899, 1012, 102], special);
    expect(positionIds).toEqual([0, 0, 1, 2, 3, 0]);
    const rows = Array.from({ length: 6 }, (_, r) => Array.from(mask.subarray(r * 6, r * 6 + 6)));
    expect(rows).toEqual([
      [1, 0, 0, 0, 0, 0],
      [0, 1, 1, 1, 1, 0],
      [0, 1, 1, 1, 1, 0],
      [0, 1, 1, 1, 1, 0],
      [0, 1, 1, 1, 1, 0],
      [0, 0, 0, 0, 0, 1],
    ]);
  });

  it('restarts positions after each separator', () => {
    const special = new Set([101, 102, 1012, 1029]);
    // [CLS] scratch . crack . [SEP]
    const { mask, positionIds } = subSentenceMasks([101, 11969, 1012, 8579, 1012, 102], special);
    expect(positionIds).toEqual([0, 0, 1, 0, 1, 0]);
    expect(mask[1 * 6 + 3]).toBe(0); // 'scratch' does not see 'crack'
    expect(mask[3 * 6 + 4]).toBe(1);
  });
});
