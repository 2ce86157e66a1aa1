// The demo's comparison arms (issue #11): the paper's comparisons in miniature, each one
// adaptDomain run over the world's domain pairs that trains its own model from the general base
// model and evaluates it beside the base on the world's domain benchmark.
//
//   captions      caption-only set (no synthesis): the "captions only" baseline, and stage 1 of two-stage
//   rules         tasks from the rule-based synthesizer, rules filter (the manual-rules baseline)
//   unfiltered    tasks from the trained synthesizer, no consistency filter
//   adamllm       tasks from the trained synthesizer, kept by the trained judge (the method)
//   two-stage     the captions model, trained on the judged tasks alone (task-only set)
//   ceiling       captions plus gold tasks read off the slides by the benchmark's own generators:
//                 not the method, the most this post-training gains from tasks that are always
//                 right and shaped like the benchmark (what a perfect synthesizer would give)
import type { WorldSize } from './sizes';

export type ArmName = 'captions' | 'rules' | 'unfiltered' | 'adamllm' | 'two-stage' | 'ceiling';

export interface Arm {
  name: ArmName;
  /** what the table says the arm is */
  label: string;
  /** the arm whose trained model this arm starts from, instead of the general base */
  after?: ArmName;
}

export const ARMS: readonly Arm[] = [
  { name: 'captions', label: 'captions only' },
  { name: 'rules', label: 'rule-based synthesizer' },
  { name: 'unfiltered', label: 'trained synthesizer, no filter' },
  { name: 'adamllm', label: 'trained synthesizer + consistency filter (AdaMLLM)' },
  { name: 'two-stage', label: 'two-stage: captions, then filtered tasks', after: 'captions' },
  { name: 'ceiling', label: 'ceiling, not the method: captions + gold tasks' },
];

/** The models every arm uses: trained once per world (trainModel), found by their folders. */
export interface DemoModels {
  /** the general base model: HF folder (trained from) and ONNX folder (evaluated) */
  base: { hf: string; onnx: string };
  synthesizer: { onnx: string };
  judge: { onnx: string };
}

export interface ArmInputs {
  domainPairs: string;
  /** the pairs, each followed by two gold tasks on its image (the ceiling arm's dataset) */
  domainGoldPairs: string;
  domainImageRoot: string;
  vqaRad: string;
  pmcVqa: string;
  models: DemoModels;
  size: WorldSize;
  /** the HF folder of the arm this one trains after (two-stage) */
  startFrom?: string;
}

const QUICK = { retry: { maximumAttempts: 2, initialIntervalSeconds: 1 } };

/** The adaptDomain run spec of one arm. Deterministic: the same inputs give the same spec (and spec hash). */
export function armSpec(arm: Arm, x: ArmInputs): Record<string, unknown> {
  const synthesized = arm.name !== 'captions' && arm.name !== 'ceiling';
  const gold = arm.name === 'ceiling';
  const trained = arm.name === 'unfiltered' || arm.name === 'adamllm' || arm.name === 'two-stage';
  const judged = arm.name === 'adamllm' || arm.name === 'two-stage';
  if (arm.after && !x.startFrom) throw new Error(`demo arm ${arm.name} trains after ${arm.after}: its model folder is needed`);
  const pipeline = synthesized
    ? ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report']
    : ['ingest', 'compose', 'export', 'train', 'evaluate', 'report'];
  return {
    version: 1,
    domain: 'slides',
    description: `adamllm demo world, arm "${arm.name}": ${arm.label}`,
    dataset: { format: 'sharegpt', path: gold ? x.domainGoldPairs : x.domainPairs, imageRoot: x.domainImageRoot },
    pipeline,
    stages: {
      // the gold rows share their pair's image on purpose: keep them
      ingest: { ...QUICK, shardSize: 256, ...(gold ? { dedupImages: false } : {}) },
      ...(synthesized
        ? {
            synthesize: trained
              ? { ...QUICK, synthesizer: 'model', model: { backend: 'onnx', path: x.models.synthesizer.onnx }, maxNewTokens: x.size.synthesizerTokens, batchSize: 8, shardSize: 64 }
              : { ...QUICK, synthesizer: 'rules', shardSize: 256 },
            filter: judged
              ? { ...QUICK, judge: 'model', model: { backend: 'onnx', path: x.models.judge.onnx }, batchSize: 8, shardSize: 64 }
              : // without the consistency filter every task stays, duplicates too: the platform's
                // duplicate rule is a filter of its own, and the paper's arm keeps them
                { ...QUICK, judge: 'rules', dropDuplicates: false, shardSize: 256 },
          }
        : {}),
      compose: { ...QUICK, shardSize: 256, content: arm.name === 'captions' || gold ? 'caption-only' : arm.name === 'two-stage' ? 'task-only' : 'caption-and-task' },
      export: { ...QUICK, imagePaths: 'absolute' },
      train: {
        ...QUICK,
        baseModel: x.startFrom ?? x.models.base.hf,
        name: `world-${arm.name}`,
        ...x.size.adapt,
        onnx: true,
      },
      evaluate: {
        ...QUICK,
        shardSize: 64,
        benchmarks: [
          { task: 'VQA_RAD', path: x.vqaRad },
          { task: 'PMC_VQA', path: x.pmcVqa },
        ],
        models: [
          { kind: 'base', name: 'world-base', model: { backend: 'onnx', path: x.models.base.onnx } },
          { kind: 'adapted', name: `world-${arm.name}`, model: { backend: 'trained' } },
        ],
        // the world's images are 112 px: evaluate them at their own size, not upscaled to 224
        minPixels: x.size.side * x.size.side,
        maxNewTokens: x.size.answerTokens,
      },
    },
  };
}
