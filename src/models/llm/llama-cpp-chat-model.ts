/**
 * A LangChain chat model on a local GGUF file, run by node-llama-cpp directly.
 *
 * Why not `@langchain/community`'s ChatLlamaCpp (1.1.x): it calls `getLlama()` with no options (so
 * no `gpu: false, build: 'never'`, which is what loads the prebuilt binary offline), takes no seed,
 * no grammar in the chat model, no chat-wrapper choice (needed for GGUFs without a chat template),
 * keeps one chat session whose history grows across calls (each question must be asked alone to
 * be reproducible), and replaces every generation error with "Error getting prompt completion.".
 *
 * The model loads on the first call (so a run whose answers are all cached never loads it), stays
 * loaded for the next ones (one load per run, across categories) and is freed by `dispose()`.
 */
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { BaseChatModel, type BaseChatModelCallOptions, type BaseChatModelParams } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import type {
  ChatHistoryItem,
  ChatWrapper,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaGrammar,
  LlamaModel,
} from 'node-llama-cpp';
import type { ChatWrapperName } from '../../config/schema.js';
import { MissingModelError } from '../../util/errors.js';


export interface LlamaCppSettings extends BaseChatModelParams {
  modelPath: string;
  /** Name used in error messages (manifest name); default: the file name. */
  modelName?: string;
  temperature?: number;
  topP?: number;
  maxTokens?: number;
  seed?: number;
  /**
   * Default: os.availableParallelism() (node-llama-cpp's own default was ~30x slower on 2 cores),
   * or 1 for toy models under 64 MB, where thread synchronisation costs more than it saves
   * (measured here on a busy 2-core machine: 48 tokens in 0.07 s with 1 thread, 25 s with 2).
   */
  threads?: number;
  /** Default: min(the model's training context, 2048). */
  contextSize?: number;
  gpu?: false | 'auto';
  /** 'auto': the GGUF's own chat template, or GeneralChatWrapper when it has none. */
  chatWrapper?: ChatWrapperName;
  /** Constrain the answer to a JSON array of lowercase nouns. */
  jsonGrammar?: boolean;
  log?: (msg: string) => void;
}

export interface LlamaCppCallOptions extends BaseChatModelCallOptions {
  seed?: number;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  jsonGrammar?: boolean;
}

/**
 * A JSON array of 1-40 strings of 1-4 lowercase words, in GBNF: stricter than a JSON schema can
 * say (node-llama-cpp's schema grammar has no pattern for lowercase).
 */
export const NOUN_ARRAY_GBNF = String.raw`root ::= "[" ws item (ws "," ws item){0,39} ws "]"
item ::= "\"" word (" " word){0,3} "\""
word ::= [a-z] [a-z-]{0,23}
ws ::= [ \n]{0,2}`;

export function defaultThreads(modelBytes: number): number {
  return modelBytes < 64 * 1024 * 1024 ? 1 : availableParallelism();
}

let llamaPromise: Promise<Llama> | undefined;
let llamaGpu: string | undefined;
let loads = 0;

/** How many times a GGUF model was loaded in this process (tests use it to prove a cache hit). */
export function llamaModelLoadCount(): number {
  return loads;
}

async function getLlamaInstance(gpu: false | 'auto'): Promise<Llama> {
  const key = String(gpu);
  if (!llamaPromise || llamaGpu !== key) {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    llamaGpu = key;
    llamaPromise = getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error });
  }
  return llamaPromise;
}

interface Loaded {
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  wrapper: ChatWrapper;
  wrapperName: string;
  grammar?: LlamaGrammar;
  llama: Llama;
}

export class ChatLlamaCppLocal extends BaseChatModel<LlamaCppCallOptions> {
  readonly settings: LlamaCppSettings;
  private loaded?: Promise<Loaded>;
  /** Serialises calls: one context sequence answers one question at a time. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(settings: LlamaCppSettings) {
    super(settings);
    this.settings = settings;
  }

  static override lc_name(): string {
    return 'ChatLlamaCppLocal';
  }

  _llmType(): string {
    return 'llama-cpp-local';
  }

  get isLoaded(): boolean {
    return this.loaded !== undefined;
  }

  /** Chat wrapper actually used (after load). */
  async wrapperName(): Promise<string> {
    return (await this.load()).wrapperName;
  }

  load(): Promise<Loaded> {
    this.loaded ??= this.doLoad().catch((err) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  private async doLoad(): Promise<Loaded> {
    const s = this.settings;
    const name = s.modelName ?? basename(s.modelPath);
    if (!existsSync(s.modelPath)) throw new MissingModelError(name, s.modelPath);
    const nlc = await import('node-llama-cpp');
    const llama = await getLlamaInstance(s.gpu ?? false);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({ modelPath: s.modelPath });
    } catch (err) {
      throw new MissingModelError(name, s.modelPath, `could not be loaded as a GGUF model (${(err as Error).message})`);
    }
    loads++;
    const threads = s.threads ?? defaultThreads(statSync(s.modelPath).size);
    const contextSize = s.contextSize ?? Math.min(model.trainContextSize || 2048, 2048);
    const context = await model.createContext({ threads, contextSize });
    const sequence = context.getSequence();
    const choice = s.chatWrapper ?? 'auto';
    let wrapper: ChatWrapper;
    if (choice === 'general') wrapper = new nlc.GeneralChatWrapper();
    else if (choice === 'llama3') wrapper = new nlc.Llama3ChatWrapper();
    else if (choice === 'llama2') wrapper = new nlc.Llama2ChatWrapper();
    else if (choice === 'chatml') wrapper = new nlc.ChatMLChatWrapper();
    else if (model.fileInfo.metadata?.tokenizer?.chat_template) wrapper = nlc.resolveChatWrapper(model);
    else {
      // Name-based guesses differ between toy files; a fixed, explicit fallback keeps runs comparable.
      wrapper = new nlc.GeneralChatWrapper();
      s.log?.(`${name}: no chat template in the GGUF; using the general chat format (set chat_wrapper to choose another)`);
    }
    return { model, context, sequence, wrapper, wrapperName: wrapper.wrapperName, llama };
  }

  /** Tokens of a text by this model's tokenizer (no special tokens). */
  async countTokens(text: string): Promise<number> {
    return (await this.load()).model.tokenize(text).length;
  }

  private async grammar(l: Loaded): Promise<LlamaGrammar> {
    l.grammar ??= await l.llama.createGrammar({ grammar: NOUN_ARRAY_GBNF });
    return l.grammar;
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions'], runManager?: CallbackManagerForLLMRun): Promise<ChatResult> {
    const run = this.queue.then(() => this.generateOnce(messages, options, runManager));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async generateOnce(
    messages: BaseMessage[],
    options: this['ParsedCallOptions'],
    runManager?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const s = this.settings;
    const l = await this.load();
    const { LlamaChatSession } = await import('node-llama-cpp');
    const history: ChatHistoryItem[] = [];
    for (const m of messages) {
      const text = typeof m.content === 'string' ? m.content : JSON.stringify(m.content);
      const type = m.getType();
      if (type === 'system') history.push({ type: 'system', text });
      else if (type === 'ai') history.push({ type: 'model', response: [text] });
      else history.push({ type: 'user', text });
    }
    const last = history.pop();
    if (!last || last.type !== 'user') throw new Error('llama.cpp chat model: the last message must be a user message');
    // Each question is asked alone: no state from an earlier answer may leak into this one.
    await l.sequence.clearHistory();
    const session = new LlamaChatSession({ contextSequence: l.sequence, chatWrapper: l.wrapper, autoDisposeSequence: false });
    session.setChatHistory(history);
    const useGrammar = options.jsonGrammar ?? s.jsonGrammar ?? false;
    let generated = 0;
    try {
      const res = await session.promptWithMeta(last.text, {
        maxTokens: options.maxTokens ?? s.maxTokens ?? 512,
        temperature: options.temperature ?? s.temperature ?? 0,
        topP: options.topP ?? s.topP,
        seed: options.seed ?? s.seed,
        grammar: useGrammar ? await this.grammar(l) : undefined,
        signal: options.signal,
        onToken: (tokens) => {
          generated += tokens.length;
        },
        onTextChunk: (chunk) => {
          void runManager?.handleLLMNewToken(chunk);
        },
      });
      const text = res.responseText;
      const message = new AIMessage({
        content: text,
        response_metadata: { stop_reason: res.stopReason, chat_wrapper: l.wrapperName, generated_tokens: generated },
        usage_metadata: { input_tokens: 0, output_tokens: generated, total_tokens: generated },
      });
      return { generations: [{ text, message }], llmOutput: { tokenUsage: { completionTokens: generated } } };
    } finally {
      session.dispose({ disposeSequence: false });
    }
  }

  /** Frees the model; a later call loads it again. */
  async dispose(): Promise<void> {
    const p = this.loaded;
    this.loaded = undefined;
    if (!p) return;
    const l = await p.catch(() => undefined);
    if (!l) return;
    await l.context.dispose();
    await l.model.dispose();
  }
}
