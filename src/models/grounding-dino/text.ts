/**
 * Caption tokenisation for Grounding DINO: the BERT uncased tokenizer (tokenizer.json, run by
 * @huggingface/transformers), plus the sub-sentence attention mask and position ids that the
 * IDEA-Research export takes as inputs (the HF export builds them inside the graph).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import { UserError } from '../../util/errors.js';

export interface TokenizedCaption {
  ids: number[];
  tokens: string[];
  /** True when the caption was longer than max_text_len and was cut (keeping [SEP] last). */
  truncated: boolean;
}

type HfTokenizer = Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;

export class CaptionTokenizer {
  private constructor(
    private readonly tok: HfTokenizer,
    private readonly idToToken: string[],
    readonly sepId: number,
    readonly specialIds: Set<number>,
  ) {}

  /** Loads tokenizer.json (+ tokenizer_config.json) from a folder; nothing is fetched remotely. */
  static async load(dir: string): Promise<CaptionTokenizer> {
    let json: { model?: { vocab?: Record<string, number> } };
    try {
      json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8'));
    } catch (err) {
      throw new UserError(`tokenizer: cannot read ${join(dir, 'tokenizer.json')}: ${(err as Error).message}`);
    }
    const vocab = json.model?.vocab;
    if (!vocab) throw new UserError(`tokenizer: ${join(dir, 'tokenizer.json')} has no WordPiece vocab (expected a BERT tokenizer)`);
    const idToToken: string[] = [];
    for (const [t, i] of Object.entries(vocab)) idToToken[i] = t;
    env.allowRemoteModels = false;
    const tok = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
    const id = (t: string) => {
      const v = vocab[t];
      if (v === undefined) throw new UserError(`tokenizer: ${t} missing from the vocab in ${dir}`);
      return v;
    };
    // Sub-sentence separators of Grounding DINO: [CLS], [SEP], '.', '?'.
    const specialIds = new Set([id('[CLS]'), id('[SEP]'), id('.'), id('?')]);
    return new CaptionTokenizer(tok, idToToken, id('[SEP]'), specialIds);
  }

  encode(caption: string, maxLen = 256): TokenizedCaption {
    const enc = this.tok(caption) as { input_ids: { data: ArrayLike<bigint | number> } };
    let ids = Array.from(enc.input_ids.data, Number);
    let truncated = false;
    if (ids.length > maxLen) {
      ids = [...ids.slice(0, maxLen - 1), this.sepId];
      truncated = true;
    }
    return { ids, tokens: ids.map((i) => this.idToToken[i] ?? '[UNK]'), truncated };
  }
}

/**
 * The IDEA `generate_masks_with_special_tokens_and_transfer_map` behaviour: each sub-sentence
 * (tokens after a separator up to and including the next one) attends only to itself and its
 * position ids restart at 0; separators that close nothing ([CLS], [SEP] after '.') stand alone.
 * Returns a row-major [L, L] boolean mask (as 0/1) and [L] position ids.
 */
export function subSentenceMasks(ids: number[], specialIds: Set<number>): { mask: Uint8Array; positionIds: number[] } {
  const L = ids.length;
  const mask = new Uint8Array(L * L);
  const positionIds = new Array<number>(L).fill(0);
  for (let i = 0; i < L; i++) mask[i * L + i] = 1;
  let prev = 0;
  for (let col = 0; col < L; col++) {
    if (!specialIds.has(ids[col])) continue;
    if (col === 0 || col === L - 1) {
      mask[col * L + col] = 1;
      positionIds[col] = 0;
    } else {
      for (let r = prev + 1; r <= col; r++) {
        for (let c = prev + 1; c <= col; c++) mask[r * L + c] = 1;
        positionIds[r] = r - prev - 1;
      }
    }
    prev = col;
  }
  return { mask, positionIds };
}
