// The trainer's JSON config from the run spec's train settings (camelCase → the trainer's
// snake_case), and the folder a training attempt works in: named by a hash of the settings
// that shape the run's steps, so a retry with the same settings resumes from its checkpoints
// and a patched retry that changes them starts afresh beside it.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TRunSpec, TTrainSettings } from '../../core/spec';
import { projectRoot } from '../project-root';
import { canonicalJson } from '../hashing/canonical-json';

/** How the trainer turns a row into tokens and loss (the trainer's config.py `sequence`). */
export type TrainerSequence = 'chat' | 'synthesizer' | 'completion';

export interface TrainerConfig {
  [key: string]: unknown;
}

/**
 * Whether the train stage exports ONNX. `auto`: only when this run's evaluate stage runs the
 * trained model on the onnx backend (`{"backend": "trained"}` without a server); a model served
 * by vLLM, or used later through its HF folder, never needs it (`export-onnx` makes it later).
 */
export function exportsOnnx(spec: Pick<TRunSpec, 'pipeline' | 'stages'>): boolean {
  const s = spec.stages.train;
  if (s.onnx !== 'auto') return s.onnx;
  return spec.pipeline.includes('evaluate') && spec.stages.evaluate.models.some((m) => m.model.backend === 'trained' && !m.model.baseUrl);
}

/**
 * The trainer's settings (config.py TrainConfig; dotted for lora and export) that trainerConfig
 * never writes, so the trainer's own defaults hold. Every other setting of the trainer is
 * written, and written with the trainer's default when the spec leaves it out:
 * tests/models/config-drift.test.ts fails when the two sides disagree. `sequence` is written
 * only when it is not chat (trainerConfig says why).
 */
export const TRAINER_DEFAULTED_KEYS = [
  // a step event per step: the activity heartbeats and records every one
  'log_every',
  // 16 greedy tokens show an ONNX mismatch; validatePrompts is the knob the spec exposes
  'export.validate_new_tokens',
] as const;

export function trainerConfig(
  s: TTrainSettings,
  o: { trainFile: string; outputDir: string; cacheDir: string; onnx: boolean; sequence?: TrainerSequence; datasetDir?: string },
): TrainerConfig {
  return {
    // synthesizer: train a visual instruction synthesizer (docs/method.md §5.3); completion: raw text
    // prompt + completion rows (a judge); absent means chat, so the folder keys of post-training
    // runs are what they were before the option existed
    ...(o.sequence && o.sequence !== 'chat' ? { sequence: o.sequence } : {}),
    base_model: path.resolve(s.baseModel),
    train_file: o.trainFile,
    // where a set's relative image paths resolve (export imagePaths relative: the dataset's image
    // root; LLaMA-Factory's dataset_dir). Absent for absolute paths, the default, so those
    // training folders keep their keys.
    ...(o.datasetDir ? { dataset_dir: o.datasetDir } : {}),
    output_dir: o.outputDir,
    cache_dir: o.cacheDir,
    finetuning: s.finetuning,
    lora: { r: s.lora.r, alpha: s.lora.alpha, dropout: s.lora.dropout, target_modules: s.lora.targetModules },
    freeze_vision_tower: s.freezeVisionTower,
    learning_rate: s.learningRate,
    epochs: s.epochs,
    max_steps: s.maxSteps,
    per_device_batch_size: s.perDeviceBatchSize,
    gradient_accumulation_steps: s.gradientAccumulationSteps,
    warmup_ratio: s.warmupRatio,
    weight_decay: s.weightDecay,
    max_grad_norm: s.maxGradNorm,
    max_length: s.maxLength,
    image_max_pixels: s.imageMaxPixels,
    image_min_pixels: s.imageMinPixels,
    seed: s.seed,
    device: s.device,
    precision: s.precision,
    gradient_checkpointing: s.gradientCheckpointing,
    attn_implementation: s.attnImplementation,
    group_by_length: s.groupByLength,
    strategy: s.strategy,
    dataloader_workers: s.dataloaderWorkers,
    pin_memory: s.pinMemory,
    prefetch_factor: s.prefetchFactor,
    tokenize_workers: s.tokenizeWorkers,
    tokenize_shard_size: s.tokenizeShardSize,
    save_steps: s.saveSteps,
    save_total_limit: s.saveTotalLimit,
    export: { hf: true, onnx: o.onnx, validate_prompts: s.validatePrompts, dtype: s.exportDtype, max_shard_size: s.maxShardSize },
  };
}

/** Where the trainer's list of settings that do not shape its steps lives (the Python side reads the same file). */
export const resumeIgnoredFile = () => path.join(projectRoot(), 'trainer', 'adamllm_trainer', 'resume_ignored.json');

/**
 * The trainer config keys a checkpoint may resume under other values of. Read at every call
 * from the trainer package itself, not from a copy compiled into dist: the folder key and the
 * trainer's resume fingerprint must drop exactly the same keys, or a retry would resume in one
 * folder while the trainer refused its checkpoint (or train afresh where it could resume).
 */
export function resumeIgnoredKeys(file = resumeIgnoredFile()): string[] {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(parsed.keys) || !parsed.keys.every((k) => typeof k === 'string')) throw new Error(`${file}: "keys" must be a list of config key names`);
  return parsed.keys;
}

/**
 * The attempt folder's name: the trainer config without the keys that do not shape the steps
 * (resume_ignored.json) and without train_file (its content is trainingSetSha: the same set
 * exported again hashes the same). The process count is not in it: a retry that lands on a
 * worker with another GPU count meets the checkpoints of the same folder, and the trainer
 * refuses them naming both counts (InvalidInput: the stage waits for the operator) instead of
 * silently throwing days of training away by starting afresh elsewhere.
 */
export function trainingKey(config: TrainerConfig, trainingSetSha: string, ignored: readonly string[] = resumeIgnoredKeys()): string {
  const shaping: TrainerConfig = {};
  for (const [k, v] of Object.entries(config)) if (k !== 'train_file' && !ignored.includes(k)) shaping[k] = v;
  return createHash('sha256').update(canonicalJson({ shaping, trainingSetSha })).digest('hex').slice(0, 16);
}
