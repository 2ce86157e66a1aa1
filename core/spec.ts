// The run spec: one JSON document naming everything that decides a result. Pure (zod only),
// so the workflow validates it inside the sandbox and fails fast naming the field.
import { z } from 'zod';
import { PROMPT_FAMILIES } from './eval/prompts';
import { EVAL_MAX_PIXELS, EVAL_MIN_PIXELS } from './eval/smart-resize';
import { TASK_NAMES } from './eval/task-names';

export const SPEC_VERSION = 1;

/** Canonical stage order; a spec's pipeline must follow it. */
export const STAGE_ORDER = ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report'] as const;
export type StageName = (typeof STAGE_ORDER)[number];
/** What a spec without `pipeline` runs: the data stages (training and evaluation need models named). */
export const DEFAULT_PIPELINE: StageName[] = ['ingest', 'synthesize', 'filter', 'compose', 'export'];

/** Activity retries of a stage (or a step); past them the stage waits for the operator. */
export const ZRetry = z
  .object({
    maximumAttempts: z.number().int().min(1).max(100).default(3).describe('activity tries before the stage waits for the operator'),
    initialIntervalSeconds: z.number().positive().default(1),
    backoffCoefficient: z.number().min(1).default(2),
    maximumIntervalSeconds: z.number().positive().default(60),
  })
  .strict();
export type TRetry = z.infer<typeof ZRetry>;

/**
 * The settings the stage runner reads of every stage: retries, shards and time limits. The
 * sharded data stages take them all; export and report take retry only, and train its own
 * bounds and defaults of the two time limits (one shard: the trainer).
 */
export const ZCommonSettings = z.object({
  retry: ZRetry.prefault({}),
  shardSize: z.number().int().min(1).max(100_000).default(256).describe('items per shard activity'),
  shardConcurrency: z.number().int().min(1).max(256).default(4).describe('shard activities in flight per batch'),
  shardsPerChild: z.number().int().min(1).max(1000).default(64).describe('shards per child workflow (bounds history size)'),
  heartbeatTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
  shardTimeoutMinutes: z.number().positive().max(24 * 60).default(30),
});
export type TCommonSettings = z.infer<typeof ZCommonSettings>;
/** What every stage's settings hold of the common ones: retry always, the rest where the stage has them. */
export type TStageCommonSettings = Pick<TCommonSettings, 'retry'> & Partial<TCommonSettings>;

const common = ZCommonSettings.shape;
const COMMON_DEFAULTS: TCommonSettings = ZCommonSettings.parse({});

/**
 * The common settings of a stage as the runner uses them: the stage's own values, and the
 * defaults of ZCommonSettings for those it does not have. Pure, so the workflow calls it.
 */
export function commonSettings(s: TStageCommonSettings): TCommonSettings {
  return {
    retry: s.retry,
    shardSize: s.shardSize ?? COMMON_DEFAULTS.shardSize,
    shardConcurrency: s.shardConcurrency ?? COMMON_DEFAULTS.shardConcurrency,
    shardsPerChild: s.shardsPerChild ?? COMMON_DEFAULTS.shardsPerChild,
    heartbeatTimeoutSeconds: s.heartbeatTimeoutSeconds ?? COMMON_DEFAULTS.heartbeatTimeoutSeconds,
    shardTimeoutMinutes: s.shardTimeoutMinutes ?? COMMON_DEFAULTS.shardTimeoutMinutes,
  };
}

export const ZIngestSettings = z
  .object({
    ...common,
    maxPixels: z.number().int().positive().default(50_000_000).describe('decompression-bomb guard, checked from the header before decoding'),
    maxBytes: z.number().int().positive().default(64 * 1024 * 1024),
    minSide: z.number().int().min(1).default(1),
    formats: z.array(z.enum(['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif', 'heif'])).min(1).default(['jpeg', 'png', 'webp', 'gif', 'tiff']),
    failOn: z
      .enum(['warning', 'error', 'truncated'])
      .default('warning')
      .describe('decode strictness: warning also rejects corrupt entropy data (bad Huffman codes); truncated only cut-off files'),
    dedupImages: z.boolean().default(true).describe('keep the first item of each identical image, filter the rest'),
    imageConcurrency: z.number().int().min(1).max(64).default(4),
    maxCaptionChars: z
      .number()
      .int()
      .min(1)
      .default(20_000)
      .describe('longer captions (in code points) fail their item: a caption of pages is a scraping accident, and it would crowd the image out of the synthesizer\'s context'),
  })
  .strict();

/** A model: a local folder run in-process (onnx), or an OpenAI-compatible endpoint. */
export const ZModelRef = z.discriminatedUnion('backend', [
  z
    .object({
      backend: z.literal('onnx'),
      path: z.string().min(1).describe('model folder in the transformers.js ONNX layout; relative paths resolve against the worker directory'),
    })
    .strict(),
  z
    .object({
      backend: z.literal('openai'),
      baseUrl: z.string().regex(/^https?:\/\//, 'an http(s) URL such as http://127.0.0.1:8000/v1'),
      model: z.string().min(1).describe('the model name the server expects'),
      apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('environment variable holding the API key (never the key itself)'),
      concurrency: z
        .number()
        .int()
        .min(1)
        .max(4096)
        .optional()
        .describe('requests in flight to this endpoint from each worker process (one limiter per endpoint per process; processes add up): size it to the server\'s batch (vLLM --max-num-seqs) divided by the worker processes. Unset: 64 for vLLM (a /models card with root and max_model_len), 1 for any other server (llama.cpp\'s answers one request at a time: more would only queue there against timeoutSeconds)'),
      maxRetries: z.number().int().min(0).max(20).default(5).describe('retries of a request answered 429 or 5xx, timed out or cut off; a 4xx fails that item only'),
      timeoutSeconds: z.number().positive().max(86_400).default(600).describe('a request unanswered this long is retried (counting the time it waits in the server\'s queue)'),
      revision: z.string().min(1).max(200).optional().describe('the served weights\' revision (a checkpoint hash or tag): part of the model\'s identity, so outputs of other weights served under the same name are not reused'),
      localMedia: z.boolean().default(false).describe('send images as file:// URLs the server reads itself (vLLM --allowed-local-media-path covering the dataset and artifact folders, on a shared filesystem) instead of inline data URLs'),
    })
    .strict(),
]);
export type TModelRef = z.infer<typeof ZModelRef>;

export const ZSynthesizeSettings = z
  .object({
    ...common,
    synthesizer: z.enum(['rules', 'model']).default('rules').describe('rules: the manual-rules baseline; model: a visual instruction synthesizer'),
    model: ZModelRef.optional().describe('the synthesizer (required when synthesizer is model); the onnx backend runs the Qwen2-VL family'),
    promptFormat: z
      .enum(['qwen2vl', 'llava-llama3'])
      .default('qwen2vl')
      .describe('synthesizer contract: qwen2vl (docs/method.md §5.1), or llava-llama3 for the released AdaptLLM synthesizer served by vLLM (backend openai)'),
    maxNewTokens: z.number().int().min(1).max(4096).default(512),
    imageMaxPixels: z
      .number()
      .int()
      .positive()
      .default(512 * 512)
      .describe('qwen2vl: images are sent scaled as the trainer scales training images into [imageMinPixels, imageMaxPixels] (set these to the synthesizer\'s own training settings), so a server\'s larger processor bounds change nothing; llava-llama3 images go as stored'),
    imageMinPixels: z.number().int().positive().default(32 * 32),
    batchSize: z.number().int().min(1).max(256).default(4).describe('items per generate call'),
    cache: z.boolean().default(true).describe('reuse greedy outputs from the durable cache'),
  })
  .strict()
  .refine((s) => s.synthesizer !== 'model' || s.model !== undefined, { path: ['model'], message: 'required when synthesizer is "model"' })
  .refine((s) => s.imageMinPixels <= s.imageMaxPixels, { path: ['imageMinPixels'], message: 'must not exceed imageMaxPixels' })
  .refine((s) => !(s.promptFormat === 'llava-llama3' && s.model?.backend === 'onnx'), {
    path: ['promptFormat'],
    message: 'llava-llama3 needs backend "openai" (serve the released synthesizer with vLLM): the onnx backend runs the Qwen2-VL family',
  });

export const ZFilterSettings = z
  .object({
    ...common,
    judge: z.enum(['rules', 'model']).default('rules').describe('rules: empty/overlong/duplicate; model: the consistency judge (Yes/No/Open)'),
    model: ZModelRef.optional().describe('the judge: a base text LM (required when judge is model)'),
    batchSize: z.number().int().min(1).max(256).default(8).describe('prompts per generate call'),
    cache: z.boolean().default(true).describe('reuse greedy outputs from the durable cache'),
    maxQuestionChars: z.number().int().positive().default(2000),
    maxAnswerChars: z.number().int().positive().default(8000),
    dropDuplicates: z.boolean().default(true),
  })
  .strict()
  .refine((s) => s.judge !== 'model' || s.model !== undefined, { path: ['model'], message: 'required when judge is "model"' });

export const ZComposeSettings = z
  .object({
    ...common,
    templates: z.literal('adamllm-v1').default('adamllm-v1'),
    unjudged: z.enum(['caption-only', 'keep-task']).default('caption-only').describe('what a task with no verdict (filter skipped) yields'),
    content: z
      .enum(['caption-and-task', 'caption-only', 'task-only'])
      .default('caption-and-task')
      .describe(
        'what each image yields: caption-and-task is the paper\'s single-stage set (docs/method.md §8); caption-only and task-only are the two stages of the two-stage baseline (train on captions, then on the tasks from that model); caption-only needs no synthesize or filter stage',
      ),
  })
  .strict();

export const ZExportSettings = z
  .object({
    retry: ZRetry.prefault({}),
    format: z.literal('llama-factory').default('llama-factory'),
    imagePaths: z.enum(['absolute', 'relative']).default('absolute').describe('relative: paths under the dataset\'s image root (the train stage passes that root to the trainer as dataset_dir; LLaMA-Factory needs the same)'),
    fileName: z.string().regex(/^[\w.-]+\.json$/).default('image_caption_and_synthetic_task.json'),
    datasetName: z.string().regex(/^[\w.-]+$/).optional().describe('dataset_info.json key; defaults to the domain'),
  })
  .strict();

/** The train settings' fields, before the checks across fields (omit and extend need a schema without them). */
export const ZTrainSettingsFields = z
  .object({
    retry: ZRetry.prefault({}),
    heartbeatTimeoutSeconds: z.number().int().min(10).max(3600).default(120).describe('a dead trainer is noticed after this; the activity heartbeats every few seconds'),
    shardTimeoutMinutes: z.number().positive().max(14 * 24 * 60).default(3 * 24 * 60).describe('start-to-close limit of one training attempt'),
    baseModel: z.string().default('').describe('the model to post-train: a Hugging Face folder (PyTorch weights) of the Qwen2-VL family; required when the pipeline has train'),
    name: z.string().regex(/^[\w.\/:-]+$/).optional().describe('the adapted model\'s name; defaults to <base folder>-<domain>'),
    finetuning: z.enum(['full', 'lora']).default('full').describe('the paper trains fully; lora trains adapters on the language model and merges them for export'),
    lora: z
      .object({
        r: z.number().int().min(1).max(1024).default(16),
        alpha: z.number().int().min(1).default(32),
        dropout: z.number().min(0).max(1).default(0.05),
        targetModules: z.array(z.string().min(1)).min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
      })
      .strict()
      .prefault({}),
    freezeVisionTower: z.boolean().default(true).describe('freeze the vision tower and its merger, as the paper does for Qwen2-VL'),
    learningRate: z.number().positive().default(1e-5),
    epochs: z.number().positive().default(1),
    maxSteps: z.number().int().min(0).default(0).describe('> 0 caps the optimizer steps (smoke runs)'),
    perDeviceBatchSize: z.number().int().min(1).default(8),
    gradientAccumulationSteps: z
      .number()
      .int()
      .min(1)
      .default(2)
      .describe('global batch = perDeviceBatchSize × this × trainer processes (gpus); the loss is averaged over the global batch\'s label tokens'),
    warmupRatio: z.number().min(0).lt(1).default(0.1),
    weightDecay: z.number().min(0).default(0.1),
    maxGradNorm: z.number().positive().default(1),
    maxLength: z.number().int().min(16).default(6144).describe('cutoff: longer examples are truncated; one whose image would be cut is dropped'),
    imageMaxPixels: z.number().int().positive().default(512 * 512).describe('training images are downscaled (NEAREST) to at most this'),
    imageMinPixels: z.number().int().positive().default(32 * 32),
    // numpy's seed takes 0 to 2³² − 1; a larger one would fail only when the trainer starts
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(42),
    device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
    precision: z.enum(['auto', 'bf16', 'fp32']).default('auto').describe('auto: bf16 on GPU, fp32 on CPU'),
    gpus: z
      .union([z.literal('all'), z.number().int().min(1).max(1024)])
      .default('all')
      .describe(
        'trainer processes: all = one per GPU the worker owns (ADAMLLM_GPUS), or 1 on a worker without GPUs or with device cpu; a number N > 1 runs torchrun with N processes (N gloo processes on CPU)',
      ),
    strategy: z.enum(['ddp', 'fsdp']).default('ddp').describe('with several processes: ddp replicates the model, fsdp shards it (for models whose weights and optimizer state do not fit one GPU)'),
    gradientCheckpointing: z.boolean().default(true).describe('recompute activations in backward: far less memory for about a third more compute'),
    attnImplementation: z.enum(['sdpa', 'flash_attention_2', 'eager']).default('sdpa').describe('attention kernel; flash_attention_2 needs the flash-attn package in the trainer\'s Python'),
    groupByLength: z.boolean().default(true).describe('batch examples of similar length (deterministic from seed and epoch) to waste less on padding'),
    dataloaderWorkers: z.number().int().min(0).max(64).default(2).describe('processes decoding and preprocessing images per trainer process (0 = in the trainer process)'),
    pinMemory: z.boolean().default(true).describe('page-locked host batches for faster copies to the GPU (ignored on CPU)'),
    prefetchFactor: z.number().int().min(1).max(64).default(2).describe('batches each data loader worker prepares ahead'),
    tokenizeWorkers: z.number().int().min(0).max(256).default(0).describe('processes tokenizing the training set (0 = one per CPU)'),
    tokenizeShardSize: z.number().int().min(1).default(1000).describe('examples per shard of the tokenization cache'),
    saveSteps: z.number().int().min(1).default(500),
    saveTotalLimit: z.number().int().min(1).default(1),
    onnx: z
      .union([z.literal('auto'), z.boolean()])
      .default('auto')
      .describe(
        'export to the transformers.js ONNX layout (validated against PyTorch) for the onnx backend; auto: only when this run\'s evaluate stage runs {"backend": "trained"} without a server',
      ),
    validatePrompts: z.number().int().min(1).max(64).default(3).describe('training prompts whose greedy outputs ONNX and PyTorch must agree on'),
    exportDtype: z
      .enum(['base', 'bfloat16', 'float16', 'float32'])
      .default('base')
      .describe('weight dtype of the HF export; base keeps the base model\'s (bf16 for Qwen2-VL), so vLLM serves it as is'),
    maxShardSize: z
      .string()
      .regex(/^[1-9]\d*(KB|MB|GB|KiB|MiB|GiB)$/, 'a whole number and a unit (KB, MB, GB, KiB, MiB, GiB), such as 5GB or 500MB')
      .default('5GB')
      .describe('largest safetensors file of the HF export'),
  })
  .strict();

/** The checks across train settings: the trainer refuses the same (config.py check), but only once a run reaches train. */
export function trainSettingsChecked<S extends z.ZodType<{ imageMinPixels: number; imageMaxPixels: number }>>(schema: S): S {
  return schema.refine((s) => s.imageMinPixels <= s.imageMaxPixels, { path: ['imageMinPixels'], message: 'must not exceed imageMaxPixels' });
}

export const ZTrainSettings = trainSettingsChecked(ZTrainSettingsFields);

export const ZBenchmark = z
  .object({
    task: z.enum(TASK_NAMES).describe('a task of the benchmark registry (core/eval/tasks.ts)'),
    path: z
      .string()
      .regex(/\.(arrow|parquet|jsonl)$/, 'a .arrow, .parquet or .jsonl file')
      .describe('the split as downloaded (Arrow or Parquet, image as {bytes, path}) or JSONL with image paths; relative paths resolve against the worker directory'),
    limit: z.number().int().positive().optional().describe('evaluate the first N rows only (a smoke run; the score is then not the paper\'s)'),
  })
  .strict();

const ZOpenAIRef = ZModelRef.options[1];

/**
 * The model this run's train stage made. Without baseUrl: its ONNX export, in-process (the train
 * stage then exports ONNX under onnx: auto). With baseUrl: an OpenAI-compatible server (vLLM)
 * serving its HF export; either way predictions and metrics belong to the train stage's Model row.
 */
export const ZTrainedRef = z
  .object({
    backend: z.literal('trained'),
    baseUrl: ZOpenAIRef.shape.baseUrl.optional().describe('a server (vLLM) serving this run\'s HF export (…/train/<key>/hf); without it the onnx backend runs the ONNX export'),
    model: z.string().min(1).optional().describe('the name the server serves it under; defaults to the trained model\'s name'),
    apiKeyEnv: ZOpenAIRef.shape.apiKeyEnv,
    // as for an openai model (same bounds and defaults), but only with baseUrl: left unset here,
    // defaulted when the target resolves to a server (evaluate/targets.ts)
    concurrency: ZOpenAIRef.shape.concurrency,
    maxRetries: ZOpenAIRef.shape.maxRetries.unwrap().optional(),
    timeoutSeconds: ZOpenAIRef.shape.timeoutSeconds.unwrap().optional(),
    localMedia: ZOpenAIRef.shape.localMedia.unwrap().optional(),
  })
  .strict();
export type TTrainedRef = z.infer<typeof ZTrainedRef>;

/** An evaluation target: any model, or `{"backend": "trained"}`, the model this run's train stage made. */
export const ZEvalModelRef = z.discriminatedUnion('backend', [...ZModelRef.options, ZTrainedRef]);

export const ZEvalTarget = z
  .object({
    kind: z.enum(['base', 'adapted']),
    name: z.string().regex(/^[\w.\/:-]+$/).optional().describe('display name; defaults to the model folder\'s name or the served model name'),
    model: ZEvalModelRef,
  })
  .strict();

export const ZEvaluateSettings = z
  .object({
    ...common,
    shardSize: z.number().int().min(1).max(100_000).default(32).describe('benchmark rows per shard activity'),
    benchmarks: z.array(ZBenchmark).default([]).describe('required when the pipeline has evaluate'),
    models: z.array(ZEvalTarget).default([]).describe('the models to evaluate, typically one base and one adapted; required when the pipeline has evaluate'),
    promptFamily: z
      .enum(PROMPT_FAMILIES)
      .default('qwen2vl')
      .describe('prompt wrapping of docs/method.md §10.2; the onnx backend runs qwen2vl only'),
    minPixels: z.number().int().positive().default(EVAL_MIN_PIXELS).describe('Qwen2-VL smart_resize lower bound'),
    maxPixels: z.number().int().positive().default(EVAL_MAX_PIXELS).describe('Qwen2-VL smart_resize upper bound'),
    maxNewTokens: z.number().int().min(1).max(8192).optional().describe('overrides every task\'s budget (smoke runs); by default each task\'s own (1024 or 256)'),
    batchSize: z.number().int().min(1).max(256).default(4).describe('rows per generate call (in-process models; an endpoint gets every row of a shard at once, bounded by its concurrency)'),
    cache: z.boolean().default(true).describe('reuse greedy outputs from the durable cache'),
    imageFormat: z
      .enum(['png', 'jpeg', 'webp'])
      .default('png')
      .describe('how prepared benchmark images are encoded: png is lossless (the model sees exactly the prepared pixels); jpeg/webp at imageQuality make requests ~10x smaller and are part of the setup (predictions are not shared with png)'),
    imageQuality: z.number().int().min(1).max(100).default(95).describe('JPEG/WebP quality'),
    f1Convention: z.enum(['sklearn>=1.3', 'sklearn-1.2']).default('sklearn>=1.3').describe('FoodSeg103 zero-division convention'),
  })
  .strict()
  .refine((s) => s.minPixels <= s.maxPixels, { path: ['minPixels'], message: 'must not exceed maxPixels' })
  .refine((s) => s.promptFamily === 'qwen2vl' || s.models.every((m) => m.model.backend === 'openai' || (m.model.backend === 'trained' && m.model.baseUrl)), {
    path: ['promptFamily'],
    message: 'llava-llama3 and mllama need backend "openai" (a vLLM server): the onnx backend runs the Qwen2-VL family',
  });

export const ZReportSettings = z
  .object({
    retry: ZRetry.prefault({}),
  })
  .strict();

export const stageSettingsSchemas = {
  ingest: ZIngestSettings,
  synthesize: ZSynthesizeSettings,
  filter: ZFilterSettings,
  compose: ZComposeSettings,
  export: ZExportSettings,
  train: ZTrainSettings,
  evaluate: ZEvaluateSettings,
  report: ZReportSettings,
} as const;

export type TIngestSettings = z.infer<typeof ZIngestSettings>;
export type TSynthesizeSettings = z.infer<typeof ZSynthesizeSettings>;
export type TFilterSettings = z.infer<typeof ZFilterSettings>;
export type TComposeSettings = z.infer<typeof ZComposeSettings>;
export type TExportSettings = z.infer<typeof ZExportSettings>;
export type TEvaluateSettings = z.infer<typeof ZEvaluateSettings>;
export type TTrainSettings = z.infer<typeof ZTrainSettings>;
export type TStageSettings = { [K in StageName]: z.infer<(typeof stageSettingsSchemas)[K]> };
/** The settings of any one stage (a stage attempt's, as the runner carries them). */
export type TAnyStageSettings = TStageSettings[StageName];

export const ZDataset = z
  .object({
    name: z.string().regex(/^[\w.-]+$/).default('default'),
    format: z.enum(['sharegpt', 'jsonl', 'csv']),
    path: z.string().min(1).describe('the annotation file; relative paths resolve against the worker directory'),
    imageRoot: z.string().min(1).describe('images resolve under this folder and may not escape it'),
    imageField: z.string().min(1).default('image').describe('jsonl/csv column holding the image path'),
    captionField: z.string().min(1).default('caption').describe('jsonl/csv column holding the caption'),
    captionInstruction: z.string().min(1).default('Describe the image.').describe('caption-task instruction for jsonl/csv rows'),
  })
  .strict();

export const ZRunSpec = z
  .object({
    version: z.literal(SPEC_VERSION),
    domain: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'lower-case letters, digits, - and _'),
    description: z.string().optional(),
    dataset: ZDataset,
    pipeline: z.array(z.enum(STAGE_ORDER)).min(1).default([...DEFAULT_PIPELINE]),
    stages: z
      .object({
        ingest: ZIngestSettings.prefault({}),
        synthesize: ZSynthesizeSettings.prefault({}),
        filter: ZFilterSettings.prefault({}),
        compose: ZComposeSettings.prefault({}),
        export: ZExportSettings.prefault({}),
        train: ZTrainSettings.prefault({}),
        evaluate: ZEvaluateSettings.prefault({}),
        report: ZReportSettings.prefault({}),
      })
      .strict()
      .prefault({}),
    runtime: z
      .object({
        searchAttributes: z.boolean().default(true).describe('upsert AdamllmDomain/AdamllmStatus (must be registered on the cluster)'),
        maxHistoryEvents: z.number().int().min(50).default(10_000).describe('continue-as-new between stages past this many events'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const positions = spec.pipeline.map((s) => STAGE_ORDER.indexOf(s));
    positions.forEach((p, i) => {
      if (i > 0 && p <= positions[i - 1]) {
        ctx.addIssue({ code: 'custom', path: ['pipeline', i], message: `stages must be unique and in the order ${STAGE_ORDER.join(' → ')}` });
      }
    });
    if (spec.pipeline[0] !== 'ingest') {
      ctx.addIssue({ code: 'custom', path: ['pipeline', 0], message: 'a pipeline starts with ingest (stages read this run\'s items)' });
    }
    if (spec.pipeline.includes('train') && spec.stages.train.baseModel === '') {
      ctx.addIssue({ code: 'custom', path: ['stages', 'train', 'baseModel'], message: 'required when the pipeline has train' });
    }
    if (spec.stages.evaluate.models.some((m) => m.model.backend === 'trained') && !spec.pipeline.includes('train')) {
      ctx.addIssue({ code: 'custom', path: ['stages', 'evaluate', 'models'], message: '{"backend": "trained"} needs train in the pipeline' });
    }
    spec.stages.evaluate.models.forEach((m, i) => {
      if (m.model.backend !== 'trained' || m.model.baseUrl) return;
      for (const k of ['model', 'apiKeyEnv', 'concurrency', 'maxRetries', 'timeoutSeconds', 'localMedia'] as const) {
        if (m.model[k] !== undefined) ctx.addIssue({ code: 'custom', path: ['stages', 'evaluate', 'models', i, 'model', k], message: 'only with baseUrl (a server); without it the onnx backend runs the ONNX export' });
      }
    });
    if (spec.stages.train.onnx === false && spec.pipeline.includes('evaluate') && spec.stages.evaluate.models.some((m) => m.model.backend === 'trained' && !m.model.baseUrl)) {
      ctx.addIssue({ code: 'custom', path: ['stages', 'train', 'onnx'], message: 'evaluate runs {"backend": "trained"} on the onnx backend, which needs the ONNX export: use onnx auto or true, or give the trained target a baseUrl (a vLLM server)' });
    }
    if (spec.pipeline.includes('evaluate')) {
      for (const field of ['benchmarks', 'models'] as const) {
        if (spec.stages.evaluate[field].length === 0) ctx.addIssue({ code: 'custom', path: ['stages', 'evaluate', field], message: 'required (at least one) when the pipeline has evaluate' });
      }
    }
  });

export type TRunSpec = z.infer<typeof ZRunSpec>;
/** A run spec as written (defaults left out): what a program that builds specs produces, parseRunSpec completes it. */
export type TRunSpecInput = z.input<typeof ZRunSpec>;
/** The synthesize stage's settings as written. */
export type TSynthesizeSettingsInput = z.input<typeof ZSynthesizeSettings>;
/** The train stage's settings as written. */
export type TTrainSettingsInput = z.input<typeof ZTrainSettingsFields>;

export class SpecError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid run spec: ${issues.join('; ')}`);
  }
}

function formatIssues(error: z.ZodError, prefix: string): string[] {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].join('.')}: ${i.message}`);
}

/** Parses a run spec; throws SpecError whose message names each bad field as `spec.a.b: why`. */
export function parseRunSpec(input: unknown): TRunSpec {
  const r = ZRunSpec.safeParse(input);
  if (!r.success) throw new SpecError(formatIssues(r.error, 'spec'));
  return r.data;
}

/** Merges an operator's patch into a stage's settings and validates the result. */
export function patchStageSettings<K extends StageName>(stage: K, current: TStageSettings[K], patch: unknown): TStageSettings[K] {
  if (patch === undefined || patch === null) return current;
  if (typeof patch !== 'object' || Array.isArray(patch)) throw new SpecError([`settings: must be an object`]);
  const merged = deepMerge(current as Record<string, unknown>, patch as Record<string, unknown>);
  const r = stageSettingsSchemas[stage].safeParse(merged);
  if (!r.success) throw new SpecError(formatIssues(r.error, `stages.${stage}`));
  return r.data as TStageSettings[K];
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}
