/**
 * Stage A, step 4-5 of IAP-AS: object tag -> LLM answer -> defect nouns -> Grounding DINO caption.
 *
 * A captioner is made once per run (the model loads on its first uncached question and serves every
 * category) and disposed at the end. Answers are cached on disk by (model file hash, template
 * name+version+hash, variable values, sampling settings, seed), so a sweep never asks the same
 * question twice; the parse and the caption are recomputed from the cached raw answer (cheap, and
 * a change of the cleaning rules then needs no new generation).
 *
 * The static captioner gives a fixed caption, as the reference's `base` model ('defect, abnormal').
 */
import { z } from 'zod';
import { DiskCache } from '../util/disk-cache.js';
import { sha256 } from '../util/hash.js';
import type { LlmSettingsInput, Provider } from '../config/schema.js';
import { createChatModel, parseLlmSettings, samplingOf, type ChatModelHandle } from '../models/llm/chat-models.js';
import { buildCaption, defaultTokenizerDirs, resolveTokenCounter, type TokenCounter } from './caption-text.js';
import { parseNouns, type ParserName } from './parsers.js';
import { getTemplate } from './registry.js';
import { renderMessages, templateValues, toRecords, type ChatMessageRecord, type PromptTemplate } from './template.js';

export const CAPTION_CACHE_NAMESPACE = 'llm-answers';
/** Bump when the cached answer record changes shape. */
const CACHE_VERSION = 1;

export interface CaptionInput {
  objectTag: string;
  ramTags?: string[];
  category?: string;
  dataset?: string;
}

export interface CaptionResult {
  template: { name: string; version: string; hash: string; source: string };
  model: { path: string; hash: string; provider: Provider | 'static' };
  sampling: ReturnType<typeof samplingOf> | null;
  /** The exact messages sent. */
  messages: ChatMessageRecord[];
  raw: string;
  words: string[];
  caption: string;
  /** Why the words did not come from the answer the intended way (see parsers.ts). */
  fallback?: string;
  parser?: ParserName;
  /** Phrases the 256-token guard removed from the end. */
  dropped?: string[];
  generated_tokens?: number;
  stop_reason?: string;
  chat_wrapper?: string;
  cached: boolean;
}

export interface Captioner {
  readonly kind: 'llm' | 'static';
  /** Answers the model generated so far (cached answers not counted). */
  readonly runs: number;
  caption(input: CaptionInput): Promise<CaptionResult>;
  dispose(): Promise<void>;
}

export interface LlmCaptionerOptions {
  /** Template name (built-in or from `promptsDir`) or a template object. Default 'iap-as'. */
  template?: string | PromptTemplate;
  promptsDir?: string;
  llm?: LlmSettingsInput;
  cache?: DiskCache;
  modelsDir?: string;
  /** Folders searched for the BERT tokenizer of the length guard. */
  tokenizerDirs?: string[];
  countTokens?: TokenCounter;
  /**
   * Use this chat model instead of building one from `llm` (share one loaded model between
   * captioners, custom providers). Its load-time settings (file, chat wrapper) must match `llm`,
   * which keys the cache; sampling is passed per call.
   */
  chatModel?: ChatModelHandle;
  log?: (msg: string) => void;
}

const cachedAnswer = z.object({
  raw: z.string(),
  generated_tokens: z.number().optional(),
  stop_reason: z.string().optional(),
  chat_wrapper: z.string().optional(),
});
type CachedAnswer = z.infer<typeof cachedAnswer>;

const stderrLog = (msg: string) => process.stderr.write(`caption: ${msg}\n`);

export async function createLlmCaptioner(opts: LlmCaptionerOptions = {}): Promise<Captioner> {
  const log = opts.log ?? stderrLog;
  const template = typeof opts.template === 'object' ? opts.template : await getTemplate(opts.template ?? 'iap-as', opts.promptsDir);
  const settings = parseLlmSettings(opts.llm ?? {});
  const handle = opts.chatModel ?? (await createChatModel(settings, { modelsDir: opts.modelsDir, log }));
  const sampling = samplingOf(settings);
  // The local model takes sampling per call, so one loaded model serves captioners with different
  // settings (a sweep); servers take it at construction.
  const callOptions =
    handle.provider === 'llama-cpp'
      ? { temperature: settings.temperature, topP: settings.top_p, maxTokens: settings.max_tokens, seed: settings.seed, jsonGrammar: settings.json_grammar }
      : handle.callOptions;
  // With the grammar on, the answer is a JSON array whatever the template asked for.
  const parser: ParserName = settings.json_grammar && handle.provider === 'llama-cpp' ? 'json-nouns' : template.parser;
  let counter: TokenCounter | undefined = opts.countTokens;
  const countTokens = async (): Promise<TokenCounter> => {
    counter ??= (await resolveTokenCounter(opts.tokenizerDirs ?? defaultTokenizerDirs(opts.modelsDir), log)).count;
    return counter;
  };

  let runs = 0;
  return {
    kind: 'llm',
    get runs() {
      return runs;
    },
    async caption(input: CaptionInput): Promise<CaptionResult> {
      const vars = { object_tag: input.objectTag, ram_tags: input.ramTags, category: input.category, dataset: input.dataset };
      const values = templateValues(template, vars);
      const messages = await renderMessages(template, vars);
      const modelHash = await handle.hash();
      const key = {
        v: CACHE_VERSION,
        provider: handle.provider,
        model: modelHash,
        template: { name: template.spec.name, version: template.spec.version, hash: template.hash },
        variables: values,
        sampling,
      };
      let cached = true;
      const compute = async (): Promise<CachedAnswer> => {
        cached = false;
        runs++;
        const msg = await handle.model.invoke(messages, callOptions);
        const raw = typeof msg.content === 'string' ? msg.content : JSON.stringify(msg.content);
        const meta = (msg.response_metadata ?? {}) as Record<string, unknown>;
        return {
          raw,
          generated_tokens: msg.usage_metadata?.output_tokens,
          stop_reason: typeof meta.stop_reason === 'string' ? meta.stop_reason : typeof meta.finish_reason === 'string' ? meta.finish_reason : undefined,
          chat_wrapper: typeof meta.chat_wrapper === 'string' ? meta.chat_wrapper : undefined,
        };
      };
      const answer = opts.cache ? await opts.cache.memoJson(CAPTION_CACHE_NAMESPACE, key, cachedAnswer, compute) : await compute();
      const parsed = parseNouns(answer.raw, parser);
      const built = buildCaption(parsed.words, input.objectTag, { countTokens: await countTokens() });
      if (parsed.fallback) log(`${input.category ?? input.objectTag}: ${parsed.fallback}`);
      if (built.dropped.length) log(`${input.category ?? input.objectTag}: caption over ${built.tokens} tokens; dropped ${built.dropped.join(', ')}`);
      const result: CaptionResult = {
        template: { name: template.spec.name, version: template.spec.version, hash: template.hash, source: template.source },
        model: { path: handle.id, hash: modelHash, provider: handle.provider },
        sampling,
        messages: toRecords(messages),
        raw: answer.raw,
        words: built.words,
        caption: built.caption,
        parser,
        cached,
      };
      if (parsed.fallback) result.fallback = parsed.fallback;
      if (built.dropped.length) result.dropped = built.dropped;
      if (answer.generated_tokens !== undefined) result.generated_tokens = answer.generated_tokens;
      if (answer.stop_reason) result.stop_reason = answer.stop_reason;
      if (answer.chat_wrapper) result.chat_wrapper = answer.chat_wrapper;
      return result;
    },
    dispose: () => handle.dispose(),
  };
}

/** The reference `base` model's fixed caption. */
export const STATIC_CAPTION = 'defect, abnormal';

export function createStaticCaptioner(caption = STATIC_CAPTION): Captioner {
  const words = caption
    .split(/[,.]/)
    .map((w) => w.trim())
    .filter(Boolean);
  return {
    kind: 'static',
    runs: 0,
    async caption(): Promise<CaptionResult> {
      return {
        template: { name: 'static', version: '1', hash: sha256(caption), source: 'builtin' },
        model: { path: '', hash: '', provider: 'static' },
        sampling: null,
        messages: [],
        raw: caption,
        words,
        caption,
        cached: false,
      };
    },
    dispose: async () => {},
  };
}

/** The compact record the pipeline's results files keep (template as name@version, model path). */
export function captionRecord(r: CaptionResult): {
  template: string;
  model: string;
  raw: string;
  words: string[];
  caption: string;
  fallback?: string;
} {
  const rec: { template: string; model: string; raw: string; words: string[]; caption: string; fallback?: string } = {
    template: `${r.template.name}@${r.template.version}`,
    model: r.model.path,
    raw: r.raw,
    words: r.words,
    caption: r.caption,
  };
  if (r.fallback) rec.fallback = r.fallback;
  return rec;
}
