/**
 * The provider switch of the captioner's chat model. `llama-cpp` (default) runs a local GGUF on
 * node-llama-cpp (llama-cpp-chat-model.ts); the servers go through LangChain's `initChatModel`:
 * `openai` is any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio, OpenAI), `ollama`
 * is Ollama's OpenAI-compatible endpoint (`/v1`), so both need only @langchain/openai.
 *
 * Settings and their defaults (the reference's sampling: temperature 0.6, top_p 0.9, at most 512
 * new tokens) are the config schema's `llm` section; temperature 0 is greedy decoding.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { UserError } from '../../util/errors.js';
import { hashJson, sha256File } from '../../util/hash.js';
import { llmSettingsSchema, type LlmSettings, type LlmSettingsInput, type Provider } from '../../config/schema.js';
import { ChatLlamaCppLocal } from './llama-cpp-chat-model.js';

export function parseLlmSettings(input: LlmSettingsInput = {}): LlmSettings {
  const r = llmSettingsSchema.safeParse(input);
  if (!r.success) {
    throw new UserError(`invalid LLM settings: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** The sampling part of the settings: what changes the answer for a given model and prompt. */
export function samplingOf(s: LlmSettings): { temperature: number; top_p: number; max_tokens: number; seed: number; json_grammar: boolean; chat_wrapper: string } {
  return { temperature: s.temperature, top_p: s.top_p, max_tokens: s.max_tokens, seed: s.seed, json_grammar: s.json_grammar, chat_wrapper: s.chat_wrapper };
}

export interface ChatModelHandle {
  model: BaseChatModel;
  provider: Provider;
  /** GGUF path, or the served model's name. */
  id: string;
  /** sha256 of the GGUF file; for servers a hash of (provider, model, url): a server may swap weights under one name. */
  hash(): Promise<string>;
  /** Call options that carry the per-call settings (seed) on every provider. */
  callOptions: Record<string, unknown>;
  dispose(): Promise<void>;
}

/**
 * A GGUF path as given, or a models-manifest name (e.g. `llama-3-8b-instruct`) resolved by the
 * models module, which names the pull command when the file is absent.
 */
export async function resolveGgufPath(model: string, modelsDir?: string): Promise<{ path: string; manifestName?: string }> {
  if (model.endsWith('.gguf') || model.includes('/') || model.includes('\\')) {
    if (!existsSync(model)) {
      throw new UserError(`GGUF file ${resolve(model)} not found (give an existing file, or a models-manifest name such as llama-3-8b-instruct, fetched with: iapas models pull llama-3-8b-instruct)`);
    }
    return { path: resolve(model) };
  }
  const { resolveModel } = await import('../weights/resolve.js');
  const r = await resolveModel(model, modelsDir ? resolve(modelsDir) : undefined);
  const gguf = Object.keys(r.files).filter((f) => f.endsWith('.gguf')).sort()[0];
  if (!gguf) throw new UserError(`model '${model}' has no .gguf file in the manifest; the llama-cpp provider needs one`);
  return { path: r.files[gguf], manifestName: model };
}

/**
 * sha256 of the GGUF. For a manifest model the models module's stamp (size, mtime, hash) saves
 * re-hashing gigabytes on every run.
 */
async function ggufHash(path: string, manifestName?: string, modelsDir?: string): Promise<string> {
  if (manifestName) {
    const { modelStatus } = await import('../weights/resolve.js');
    const st = await modelStatus(manifestName, modelsDir ? resolve(modelsDir) : undefined).catch(() => undefined);
    const f = st?.files.find((x) => x.absPath === path && x.sha256);
    if (f?.sha256) return f.sha256;
  }
  return sha256File(path);
}

export async function createChatModel(
  settings: LlmSettings,
  opts: { modelsDir?: string; log?: (msg: string) => void } = {},
): Promise<ChatModelHandle> {
  const s = settings;
  if (s.provider === 'llama-cpp') {
    const { path, manifestName } = await resolveGgufPath(s.model, opts.modelsDir);
    let hash: Promise<string> | undefined;
    const model = new ChatLlamaCppLocal({
      modelPath: path,
      modelName: s.model.endsWith('.gguf') ? basename(s.model) : s.model,
      temperature: s.temperature,
      topP: s.top_p,
      maxTokens: s.max_tokens,
      seed: s.seed,
      threads: s.threads,
      contextSize: s.context_size,
      chatWrapper: s.chat_wrapper,
      gpu: s.gpu,
      jsonGrammar: s.json_grammar,
      log: opts.log,
    });
    return {
      model,
      provider: s.provider,
      id: path,
      hash: () => (hash ??= ggufHash(path, manifestName, opts.modelsDir)),
      callOptions: { seed: s.seed },
      dispose: () => model.dispose(),
    };
  }
  if (s.json_grammar) opts.log?.(`json_grammar applies to llama-cpp only; ignored for provider ${s.provider}`);
  const baseURL = s.base_url ?? (s.provider === 'ollama' ? 'http://localhost:11434/v1' : undefined);
  const apiKey = s.provider === 'ollama' ? 'ollama' : process.env[s.api_key_env];
  if (s.provider === 'openai' && !apiKey && !baseURL) {
    throw new UserError(`provider 'openai' needs an API key in $${s.api_key_env} (or a base_url of a local server)`);
  }
  // Loaded only for a server: langchain's universal model pulls in more than a local run needs.
  const { initChatModel } = await import('langchain');
  let model: BaseChatModel;
  try {
    model = await initChatModel(s.model, {
      modelProvider: 'openai',
      temperature: s.temperature,
      topP: s.top_p,
      maxTokens: s.max_tokens,
      apiKey: apiKey ?? 'none',
      configuration: baseURL ? { baseURL } : undefined,
    });
  } catch (err) {
    throw new UserError(`provider '${s.provider}': ${(err as Error).message}`);
  }
  const id = s.model;
  return {
    model,
    provider: s.provider,
    id,
    hash: async () => hashJson({ provider: s.provider, model: s.model, base_url: baseURL ?? null }),
    callOptions: { seed: s.seed },
    dispose: async () => {},
  };
}
