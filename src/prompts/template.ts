/**
 * A prompt template: LangChain chat template (system + user text) with a name, a version, the
 * variables it uses and the parser of its answers. The hash covers everything that changes what
 * the model is asked or how its answer is read, so it can key the answer cache.
 *
 * Variables are LangChain f-string placeholders (`{object_tag}`); a literal brace in the text is
 * written `{{` / `}}`. Values are substituted once and never parsed again, so a tag that contains
 * braces or instructions stays data: it cannot add placeholders or change the template text.
 */
import { ChatPromptTemplate } from '@langchain/core/prompts';
import type { BaseMessage } from '@langchain/core/messages';
import { z } from 'zod';
import { UserError } from '../util/errors.js';
import { hashJson } from '../util/hash.js';
import { PARSER_NAMES, type ParserName } from './parsers.js';

/** What a template may ask for. `ram_tags` is the list of RAM tags of the reference images. */
export const TEMPLATE_VARIABLES = ['object_tag', 'ram_tags', 'category', 'dataset'] as const;

export const templateSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lowercase letters, digits, ".", "_" and "-" only'),
    version: z.union([z.string().min(1), z.number()]).transform(String),
    description: z.string().optional(),
    system: z.string().optional(),
    user: z.string().min(1),
    variables: z.array(z.enum(TEMPLATE_VARIABLES)).min(1),
    parser: z.enum(PARSER_NAMES).default('nouns'),
  })
  .strict();

export type TemplateSpecInput = z.input<typeof templateSpecSchema>;
export type TemplateSpec = z.output<typeof templateSpecSchema>;

export interface TemplateVars {
  object_tag?: string;
  ram_tags?: string | string[];
  category?: string;
  dataset?: string;
}

export interface PromptTemplate {
  spec: TemplateSpec;
  /** 'builtin' or the file it was read from. */
  source: string;
  /** sha256 over name, version, texts, variables and parser. */
  hash: string;
  chat: ChatPromptTemplate;
  parser: ParserName;
}

export interface ChatMessageRecord {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export function templateHash(spec: TemplateSpec): string {
  const { name, version, system, user, variables, parser } = spec;
  return hashJson({ name, version, system: system ?? null, user, variables: [...variables].sort(), parser });
}

/** Validates a spec and builds its LangChain template; throws UserError naming the source. */
export function buildTemplate(input: unknown, source = 'builtin'): PromptTemplate {
  const parsed = templateSpecSchema.safeParse(input);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`prompt template ${source}: ${msg}`);
  }
  const spec = parsed.data;
  let chat: ChatPromptTemplate;
  try {
    const messages: Array<['system' | 'human', string]> = [];
    if (spec.system) messages.push(['system', spec.system]);
    messages.push(['human', spec.user]);
    chat = ChatPromptTemplate.fromMessages(messages, { templateFormat: 'f-string' });
  } catch (err) {
    throw new UserError(`prompt template ${source} (${spec.name}): ${(err as Error).message} (write a literal brace as {{ or }})`);
  }
  const used = [...chat.inputVariables].sort();
  const declared = [...new Set(spec.variables)].sort();
  const unknown = used.filter((v) => !(TEMPLATE_VARIABLES as readonly string[]).includes(v));
  if (unknown.length) {
    throw new UserError(
      `prompt template ${source} (${spec.name}): unknown placeholder(s) ${unknown.map((v) => `{${v}}`).join(', ')}; allowed: ${TEMPLATE_VARIABLES.join(', ')}`,
    );
  }
  if (used.join() !== declared.join()) {
    throw new UserError(
      `prompt template ${source} (${spec.name}): 'variables' lists [${declared.join(', ')}] but the texts use [${used.join(', ')}]`,
    );
  }
  return { spec, source, hash: templateHash(spec), chat, parser: spec.parser };
}

/** The values a template uses, as strings; a declared variable without a value is an error. */
export function templateValues(t: PromptTemplate, vars: TemplateVars): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of t.spec.variables) {
    const value = vars[v];
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0) || value === '') {
      throw new UserError(`prompt template '${t.spec.name}' needs a value for '${v}'`);
    }
    out[v] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

export async function renderMessages(t: PromptTemplate, vars: TemplateVars): Promise<BaseMessage[]> {
  return t.chat.formatMessages(templateValues(t, vars));
}

export function toRecords(messages: BaseMessage[]): ChatMessageRecord[] {
  return messages.map((m) => {
    const type = m.getType();
    const role = type === 'system' ? 'system' : type === 'ai' ? 'assistant' : 'user';
    return { role, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) };
  });
}

