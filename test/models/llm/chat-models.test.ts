import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ChatOpenAI } from '@langchain/openai';
import { ConfigurableModel } from 'langchain/chat_models/universal';
import { createChatModel, parseLlmSettings, samplingOf } from '../../../src/models/llm/chat-models.js';
import { ChatLlamaCppLocal, llamaModelLoadCount } from '../../../src/models/llm/llama-cpp-chat-model.js';
import { MissingModelError, UserError } from '../../../src/util/errors.js';
import { sha256File } from '../../../src/util/hash.js';
import { itWithShared, SHARED } from '../../support/shared.js';

const TINY = SHARED.tinyLlm;

describe('LLM settings', () => {
  it('defaults to the reference sampling on a local llama.cpp model', () => {
    const s = parseLlmSettings({});
    expect(s).toMatchObject({ provider: 'llama-cpp', model: 'llama-3-8b-instruct', temperature: 0.6, top_p: 0.9, max_tokens: 512 });
    expect(samplingOf(s)).toEqual({ temperature: 0.6, top_p: 0.9, max_tokens: 512, seed: 111, json_grammar: false, chat_wrapper: 'auto' });
  });

  it('rejects unknown keys and bad values', () => {
    expect(() => parseLlmSettings({ temprature: 0.5 } as never)).toThrow(UserError);
    expect(() => parseLlmSettings({ provider: 'gpt' } as never)).toThrow(/provider/);
    expect(() => parseLlmSettings({ top_p: 0 })).toThrow(/top_p/);
  });
});

/** The model behind langchain's initChatModel wrapper. */
async function served(model: unknown): Promise<ChatOpenAI> {
  expect(model).toBeInstanceOf(ConfigurableModel);
  return (await (model as ConfigurableModel)._getModelInstance()) as unknown as ChatOpenAI;
}

describe('provider selection', () => {
  itWithShared('llama-cpp builds the local model without loading it', [TINY], async () => {
    const before = llamaModelLoadCount();
    const h = await createChatModel(parseLlmSettings({ model: TINY, temperature: 0, seed: 7, threads: 1 }));
    expect(h.model).toBeInstanceOf(ChatLlamaCppLocal);
    expect(h.provider).toBe('llama-cpp');
    expect(h.id).toBe(TINY);
    const m = h.model as ChatLlamaCppLocal;
    expect(m.settings).toMatchObject({ modelPath: TINY, temperature: 0, seed: 7, threads: 1, topP: 0.9, maxTokens: 512 });
    expect(m.isLoaded).toBe(false);
    expect(await h.hash()).toMatch(/^[0-9a-f]{64}$/);
    expect(llamaModelLoadCount()).toBe(before);
  });

  it('openai selects ChatOpenAI with the base URL, sampling and key from the named variable', async () => {
    process.env.IAPAS_TEST_KEY = 'sk-test';
    const h = await createChatModel(
      parseLlmSettings({ provider: 'openai', model: 'my-llama', base_url: 'http://127.0.0.1:8000/v1', api_key_env: 'IAPAS_TEST_KEY', temperature: 0.2, max_tokens: 64 }),
    );
    const m = await served(h.model);
    expect(m).toBeInstanceOf(ChatOpenAI);
    expect(m.model).toBe('my-llama');
    expect(m.temperature).toBe(0.2);
    expect(m.topP).toBe(0.9);
    expect(m.maxTokens).toBe(64);
    expect(m.apiKey).toBe('sk-test');
    expect((m as unknown as { clientConfig: { baseURL?: string } }).clientConfig.baseURL).toBe('http://127.0.0.1:8000/v1');
    expect(h.callOptions).toEqual({ seed: 111 });
  });

  it('ollama uses its OpenAI-compatible endpoint by default', async () => {
    const h = await createChatModel(parseLlmSettings({ provider: 'ollama', model: 'llama3:8b-instruct-q4_K_M' }));
    const m = await served(h.model);
    expect(m).toBeInstanceOf(ChatOpenAI);
    expect(m.model).toBe('llama3:8b-instruct-q4_K_M');
    expect((m as unknown as { clientConfig: { baseURL?: string } }).clientConfig.baseURL).toBe('http://localhost:11434/v1');
    const other = await createChatModel(parseLlmSettings({ provider: 'ollama', model: 'llama3' }));
    expect(await h.hash()).not.toBe(await other.hash());
  });

  itWithShared('resolves a models-manifest name to its GGUF and hashes it', [TINY], async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iapas-models-'));
    await mkdir(join(dir, 'llama-3-8b-instruct'));
    const file = join(dir, 'llama-3-8b-instruct', 'Meta-Llama-3-8B-Instruct-Q4_K_M.gguf');
    await symlink(TINY, file);
    const h = await createChatModel(parseLlmSettings({ model: 'llama-3-8b-instruct' }), { modelsDir: dir });
    expect(h.id).toBe(file);
    expect(await h.hash()).toBe(await sha256File(TINY));
  });

  it('a missing GGUF fails with the file name; a missing manifest model with the pull command', async () => {
    await expect(createChatModel(parseLlmSettings({ model: '/nowhere/x.gguf' }))).rejects.toThrow(/\/nowhere\/x\.gguf not found/);
    const err = await createChatModel(parseLlmSettings({ model: 'llama-3-8b-instruct' }), { modelsDir: '/nonexistent-models' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MissingModelError);
    expect((err as Error).message).toMatch(/iapas models pull llama-3-8b-instruct/);
  });
});
