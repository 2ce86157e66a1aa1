// The spec of one model-training run (the trainModel and trainSynthesizer workflows): which model
// to make (a general base model, the method's visual instruction synthesizer, or a consistency
// judge), what it starts from, what it learns from and how. Pure (zod only), like core/spec.ts,
// so the workflow validates it inside the sandbox and fails fast naming the field.
import { z } from 'zod';
import { trainSettingsChecked, ZRetry, ZTrainSettingsFields } from './spec';

export const TRAIN_MODEL_SPEC_VERSION = 1;

export const MODEL_ROLES = ['base', 'synthesizer', 'judge'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

/** The run's two recorded steps (Stage rows), in order. */
export const TRAIN_MODEL_STEPS = ['prepare', 'train'] as const;
export type TrainModelStep = (typeof TRAIN_MODEL_STEPS)[number];

/** How the trainer reads a role's rows (the trainer's `sequence`). */
export const SEQUENCE_OF_ROLE = { base: 'chat', synthesizer: 'synthesizer', judge: 'completion' } as const satisfies Record<ModelRole, string>;

/** The Model row's kind for each role. */
export const MODEL_KIND_OF_ROLE = { base: 'BASE', synthesizer: 'SYNTHESIZER', judge: 'JUDGE' } as const satisfies Record<ModelRole, string>;

/** A new Qwen2-VL made by `python -m adamllm_trainer init-model` (a tokenizer of the corpus, random weights). */
export const ZInitModel = z
  .object({
    corpus: z.array(z.string().min(1)).min(1).describe('text files, one sentence per line: the tokenizer learns their words'),
    vocabSize: z.number().int().min(300).max(200_000).default(2048).describe('the tokenizer\'s vocabulary, special tokens included (a small corpus may learn fewer)'),
    hidden: z
      .number()
      .int()
      .min(32)
      .max(8192)
      .refine((h) => h % 8 === 0, 'a multiple of 8 (M-RoPE sections)')
      .default(128)
      .describe('width of the language model'),
    heads: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe('attention heads of the language model, each hidden/heads wide (at most 2 key/value heads); vLLM\'s CPU attention takes heads of 32, 64, 80, … wide, not 16'),
    layers: z.number().int().min(1).max(128).default(2).describe('decoder layers'),
    visionDepth: z.number().int().min(1).max(64).default(2).describe('vision tower blocks'),
    seed: z.number().int().min(0).default(0).describe('the random weights\' seed: the same arguments and corpus give the same files'),
  })
  .strict()
  // M-RoPE splits half a head into three sections
  .refine((i) => i.hidden % i.heads === 0 && (i.hidden / i.heads) % 2 === 0 && i.hidden / i.heads >= 8, { path: ['heads'], message: 'must divide hidden into heads of an even width of at least 8' });
export type TInitModel = z.infer<typeof ZInitModel>;

/** Exactly one of `path` (an existing model) or `init` (a new one). */
export const ZBaseModel = z
  .object({
    path: z.string().min(1).optional().describe('a Hugging Face Qwen2-VL folder; relative paths resolve against the worker directory'),
    init: ZInitModel.optional().describe('a new model made by init-model, cached by its arguments and corpus'),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.path === undefined) === (b.init === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of path (a Hugging Face Qwen2-VL folder) or init (a new model made by init-model)' });
    }
  });
export type TBaseModel = z.infer<typeof ZBaseModel>;

/**
 * The trainer settings of the train stage (core/spec.ts), less what the spec says elsewhere
 * (baseModel: `base`; name: the spec's own), with ONNX on by default: these models are run by the
 * onnx backend (the synthesize and filter stages, evaluation).
 */
export const ZModelTrainSettings = trainSettingsChecked(
  ZTrainSettingsFields.omit({ baseModel: true, name: true, onnx: true })
    .extend({
      onnx: z.boolean().default(true).describe('export to the transformers.js ONNX layout (validated against PyTorch): the folder the onnx backend loads'),
    })
    .strict(),
);
export type TModelTrainSettings = z.infer<typeof ZModelTrainSettings>;

export const ZTrainModelSpec = z
  .object({
    version: z.literal(TRAIN_MODEL_SPEC_VERSION),
    name: z.string().regex(/^[\w.\/:-]+$/, 'letters, digits and . / : _ -').describe('the registered model\'s name'),
    role: z.enum(MODEL_ROLES).describe('base: a general chat model; synthesizer: the method\'s task synthesizer (§5); judge: a consistency judge'),
    description: z.string().optional(),
    base: ZBaseModel,
    data: z
      .object({
        path: z
          .string()
          .min(1)
          .describe('base: ShareGPT chat rows (messages, images); synthesizer: the general seed JSON ([{image, caption, tasks}]); judge: [{prompt, completion}]'),
        imageRoot: z.string().min(1).optional().describe('image paths in the data resolve under this folder (base and synthesizer)'),
      })
      .strict(),
    train: ZModelTrainSettings.prefault({}),
    prepare: z
      .object({
        retry: ZRetry.prefault({}),
        timeoutMinutes: z.number().positive().max(24 * 60).default(60).describe('start-to-close limit of the prepare step (init-model, the training file)'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((spec, ctx) => {
    if (spec.role !== 'judge' && !spec.data.imageRoot) {
      ctx.addIssue({ code: 'custom', path: ['data', 'imageRoot'], message: `required for role ${spec.role} (its rows name images)` });
    }
  });

export type TTrainModelSpec = z.infer<typeof ZTrainModelSpec>;
/** A trainModel spec as written (defaults left out). */
export type TTrainModelSpecInput = z.input<typeof ZTrainModelSpec>;

export class TrainModelSpecError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid model training spec: ${issues.join('; ')}`);
  }
}

/** Parses a model-training spec; throws TrainModelSpecError whose message names each bad field as `spec.a.b: why`. */
export function parseTrainModelSpec(input: unknown): TTrainModelSpec {
  const r = ZTrainModelSpec.safeParse(input);
  if (!r.success) throw new TrainModelSpecError(r.error.issues.map((i) => `${['spec', ...i.path.map(String)].join('.')}: ${i.message}`));
  return r.data;
}

/** The Run row's domain of a model-training run (`adamllm runs list --domain model:synthesizer`). */
export const modelRunDomain = (role: ModelRole) => `model:${role}`;

/** What trainModel returns when the model is trained (or a finished one reused). */
export interface TrainModelResult {
  status: 'succeeded';
  runId: string;
  modelId: string;
  name: string;
  role: ModelRole;
  /** the ONNX folder (transformers.js layout): what `{"backend": "onnx", "path": …}` takes; null when onnx is off */
  onnx: string | null;
  /** the Hugging Face folder (vLLM serves it) */
  hf: string;
  steps: number;
  finalLoss: number;
  /** a finished training of the same settings and data was found and reused (no training ran) */
  reused: boolean;
}

/** What trainModel returns when the operator aborted it (an expected outcome, not a failure). */
export interface TrainModelAborted {
  status: 'aborted';
  runId: string;
  name: string;
  role: ModelRole;
  reason: string;
}

/** What the prepare step hands to the train step: paths, ids and hashes only. */
export interface PreparedTraining {
  base: { path: string; name: string; modelId: string; origin: 'given' | 'made' | 'cached' };
  /** the file the trainer reads (absolute) */
  trainFile: string;
  /** its Artifact row (the trained model's trainingSetId) */
  trainingSetId: string;
  /** content hash of the training file and the images it names (the training folder's key) */
  dataSha: string;
  /** rows in the training file */
  rows: number;
}

/** One step of a model-training run, as the progress query shows it (the shape of adaptDomain's stages). */
export interface TrainModelStepProgress {
  name: TrainModelStep;
  status: 'pending' | 'running' | 'failed_waiting' | 'succeeded' | 'aborted';
  attempt: number;
  counts?: { in: number; out: number; filtered: number; failed: number };
  reasons?: Record<string, number>;
  outputs?: Record<string, string | number>;
  error?: { type?: string; message: string };
  lastCommandError?: string;
}

export interface TrainModelProgress {
  runId: string;
  workflowId: string;
  /** model:<role> */
  domain: string;
  name: string;
  role: ModelRole;
  status: 'running' | 'waiting' | 'succeeded' | 'aborted';
  stages: TrainModelStepProgress[];
}

/**
 * The train settings after an operator's retryStage patch (`{"stage": "train", "settings": {…}}`),
 * validated; throws TrainModelSpecError naming the field.
 */
export function patchTrainSettings(current: TModelTrainSettings, patch: unknown): TModelTrainSettings {
  if (patch === undefined || patch === null) return current;
  if (typeof patch !== 'object' || Array.isArray(patch)) throw new TrainModelSpecError(['settings: must be an object']);
  const merged: Record<string, unknown> = { ...current };
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    const prev = merged[k];
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' ? { ...(prev as object), ...(v as object) } : v;
  }
  const r = ZModelTrainSettings.safeParse(merged);
  if (!r.success) throw new TrainModelSpecError(r.error.issues.map((i) => `${['train', ...i.path.map(String)].join('.')}: ${i.message}`));
  return r.data;
}
