// The trainer's JSON config from the run spec's train settings (camelCase → the trainer's
// snake_case), and the folder a training attempt works in: named by a hash of the settings
// that shape the run, so a retry with the same settings resumes from its checkpoints and a
// patched retry starts afresh beside it.
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { TTrainSettings } from '../../core/spec';
import { canonicalJson } from '../bookkeeping/canonical-json';

export interface TrainerConfig {
  [key: string]: unknown;
}

export function trainerConfig(s: TTrainSettings, o: { trainFile: string; outputDir: string; cacheDir: string }): TrainerConfig {
  return {
    base_model: path.resolve(s.baseModel),
    train_file: o.trainFile,
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
    save_steps: s.saveSteps,
    save_total_limit: s.saveTotalLimit,
    export: { hf: true, onnx: s.onnx, validate_prompts: s.validatePrompts },
  };
}

/** The attempt folder's name: settings that change the trained weights (not retry or timeouts). */
export function trainingKey(s: TTrainSettings, trainingSetSha: string): string {
  const { retry: _r, heartbeatTimeoutSeconds: _h, shardTimeoutMinutes: _t, name: _n, ...shaping } = s;
  return createHash('sha256').update(canonicalJson({ shaping, trainingSetSha })).digest('hex').slice(0, 16);
}
