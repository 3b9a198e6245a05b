/**
 * `iapas prompts list|show|render|generate`: inspect the prompt templates, see the exact messages a
 * template produces, and ask a chat model once (raw answer, cleaned words, final caption).
 */
import type { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { DiskCache, defaultCacheRoot } from '../util/disk-cache.js';
import { maybeWriteJson } from './json-output.js';
import { getTemplate, listTemplates } from '../prompts/registry.js';
import { renderMessages, toRecords, type TemplateVars } from '../prompts/template.js';
import { CHAT_WRAPPERS, PROVIDERS, type LlmSettingsInput } from '../config/schema.js';

const LLM = CONFIG_DEFAULTS.llm;
import { createLlmCaptioner } from '../prompts/captioner.js';
import { checkOutputs } from '../util/writable.js';
import { CONFIG_DEFAULTS } from '../methods/registry.js';

function num(name: string, integer = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UserError(`--${name}: '${v}' is not ${integer ? 'an integer' : 'a number'}`);
    return n;
  };
}

interface VarOpts {
  objectTag?: string;
  ramTags?: string;
  category?: string;
  dataset?: string;
}

function varsFrom(o: VarOpts): TemplateVars {
  return {
    object_tag: o.objectTag,
    ram_tags: o.ramTags?.split(/[|,]/).map((s) => s.trim()).filter(Boolean),
    category: o.category,
    dataset: o.dataset,
  };
}

function addVarOptions(c: Command): Command {
  return c
    .option('--object-tag <tag>', 'the object tag (e.g. bottle)')
    .option('--ram-tags <tags>', 'RAM tags, separated by "," or "|"')
    .option('--category <name>', 'category name')
    .option('--dataset <name>', 'dataset name');
}

export function register(program: Command): void {
  const prompts = program.command('prompts').description('LLM prompt templates: list, show, render, generate');

  prompts
    .command('list')
    .description('list the prompt templates (built-in and from --prompts <dir>)')
    .option('--prompts <dir>', 'folder of YAML/JSON templates')
    .option('--json <file>', 'write the list as JSON')
    .action(async (o: { prompts?: string; json?: string }) => {
      const all = await listTemplates(o.prompts);
      const rows = all.map((t) => ({
        name: t.spec.name,
        version: t.spec.version,
        variables: t.spec.variables,
        parser: t.parser,
        hash: t.hash.slice(0, 12),
        source: t.source,
        description: t.spec.description ?? '',
      }));
      const w = Math.max(...rows.map((r) => r.name.length), 4);
      process.stdout.write(`${'name'.padEnd(w)}  version  parser           variables            source\n`);
      for (const r of rows) {
        process.stdout.write(
          `${r.name.padEnd(w)}  ${r.version.padEnd(7)}  ${r.parser.padEnd(15)}  ${r.variables.join(',').padEnd(19)}  ${r.source}\n`,
        );
      }
      await maybeWriteJson(o.json, rows);
    });

  prompts
    .command('show <name>')
    .description('print a template: texts, variables, parser, hash')
    .option('--prompts <dir>', 'folder of YAML/JSON templates')
    .option('--json <file>', 'write the template as JSON')
    .action(async (name: string, o: { prompts?: string; json?: string }) => {
      const t = await getTemplate(name, o.prompts);
      const out = { ...t.spec, parser: t.parser, hash: t.hash, source: t.source };
      process.stdout.write(
        [
          `name:        ${t.spec.name}`,
          `version:     ${t.spec.version}`,
          `source:      ${t.source}`,
          `hash:        ${t.hash}`,
          `variables:   ${t.spec.variables.join(', ')}`,
          `parser:      ${t.parser}`,
          ...(t.spec.description ? [`description: ${t.spec.description}`] : []),
          `system:      ${t.spec.system ?? '(none)'}`,
          `user:        ${t.spec.user}`,
        ].join('\n') + '\n',
      );
      await maybeWriteJson(o.json, out);
    });

  addVarOptions(
    prompts
      .command('render <name>')
      .description('print the exact messages a template gives for these values')
      .option('--prompts <dir>', 'folder of YAML/JSON templates')
      .option('--json <file>', 'write the messages as JSON'),
  ).action(async (name: string, o: VarOpts & { prompts?: string; json?: string }) => {
    const t = await getTemplate(name, o.prompts);
    const messages = toRecords(await renderMessages(t, varsFrom(o)));
    for (const m of messages) process.stdout.write(`[${m.role}]\n${m.content}\n\n`);
    await maybeWriteJson(o.json, { template: { name: t.spec.name, version: t.spec.version, hash: t.hash }, messages });
  });

  addVarOptions(
    prompts
      .command('generate')
      .description('ask the chat model once: prints the raw answer, the cleaned words and the caption')
      .option('--template <name>', 'template name', CONFIG_DEFAULTS.caption.template)
      .option('--prompts <dir>', 'folder of YAML/JSON templates')
      .option('--provider <name>', `one of ${PROVIDERS.join(', ')}`, LLM.provider)
      .option('--model <gguf|name>', 'GGUF file or models-manifest name (llama-cpp); served model name (openai, ollama)', LLM.model)
      .option('--models-dir <dir>', 'models folder (default $IAPAS_MODELS or ./models)')
      .option('--base-url <url>', 'OpenAI-compatible server URL (openai, ollama)')
      .option('--seed <n>', 'sampling seed', num('seed', true), LLM.seed)
      .option('--temperature <t>', 'sampling temperature (0 = greedy, deterministic)', num('temperature'), LLM.temperature)
      .option('--top-p <p>', 'nucleus sampling', num('top-p'), LLM.top_p)
      .option('--max-tokens <n>', 'most new tokens', num('max-tokens', true), LLM.max_tokens)
      .option('--threads <n>', 'CPU threads (default: all cores)', num('threads', true))
      .option('--chat-wrapper <name>', `chat format: ${CHAT_WRAPPERS.join(', ')}`, LLM.chat_wrapper)
      .option('--json-grammar', 'constrain the answer to a JSON array of lowercase nouns (llama-cpp)')
      .option('--tokenizer <dir>', 'BERT tokenizer folder for the 256-token caption guard')
      .option('--cache-dir <dir>', 'answer cache (default $IAPAS_CACHE or .cache/iapas)')
      .option('--no-cache', 'always ask the model')
      .option('--json <file>', 'write the full record (messages, raw answer, words, caption, provenance) as JSON'),
  ).action(
    async (
      o: VarOpts & {
        template: string;
        prompts?: string;
        provider: string;
        model: string;
        modelsDir?: string;
        baseUrl?: string;
        seed: number;
        temperature: number;
        topP: number;
        maxTokens: number;
        threads?: number;
        chatWrapper: string;
        jsonGrammar?: boolean;
        tokenizer?: string;
        cacheDir?: string;
        cache: boolean;
        json?: string;
      },
    ) => {
      if (!o.objectTag) throw new UserError('prompts generate: --object-tag is required');
      await checkOutputs([['--json', o.json, 'file']]);
      const llm = {
        provider: o.provider,
        model: o.model,
        base_url: o.baseUrl,
        seed: o.seed,
        temperature: o.temperature,
        top_p: o.topP,
        max_tokens: o.maxTokens,
        threads: o.threads,
        chat_wrapper: o.chatWrapper,
        json_grammar: !!o.jsonGrammar,
      } as LlmSettingsInput;
      const captioner = await createLlmCaptioner({
        template: o.template,
        promptsDir: o.prompts,
        llm,
        modelsDir: o.modelsDir,
        cache: o.cache ? new DiskCache(o.cacheDir ?? defaultCacheRoot()) : undefined,
        tokenizerDirs: o.tokenizer ? [o.tokenizer] : undefined,
      });
      try {
        const v = varsFrom(o);
        const r = await captioner.caption({ objectTag: o.objectTag, ramTags: v.ram_tags as string[] | undefined, category: o.category, dataset: o.dataset });
        const lines = [
          `template: ${r.template.name}@${r.template.version} (${r.template.hash.slice(0, 12)})`,
          `model:    ${r.model.provider} ${r.model.path} (${r.model.hash.slice(0, 12)})${r.cached ? ' [cached answer]' : ''}`,
          `sampling: temperature ${r.sampling?.temperature} top_p ${r.sampling?.top_p} max_tokens ${r.sampling?.max_tokens} seed ${r.sampling?.seed}${r.sampling?.json_grammar ? ' json-grammar' : ''}`,
          `raw answer${r.generated_tokens !== undefined ? ` (${r.generated_tokens} tokens${r.stop_reason ? `, ${r.stop_reason}` : ''})` : ''}:`,
          r.raw,
          `words:    ${r.words.join(', ')}`,
          ...(r.fallback ? [`fallback: ${r.fallback}`] : []),
          ...(r.dropped ? [`dropped:  ${r.dropped.join(', ')} (caption token limit)`] : []),
          `caption:  ${r.caption}`,
        ];
        process.stdout.write(lines.join('\n') + '\n');
        await maybeWriteJson(o.json, r);
      } finally {
        await captioner.dispose();
      }
    },
  );
}
