// The demo's comparison arms: the paper's comparisons in miniature, each one
// adaptDomain run over the world's domain pairs that trains its own model from the general base
// model and evaluates it beside the base on the world's domain benchmark. Each arm declares its
// role as data (where its tasks come from, which of them stay, what compose makes): armSpec and
// modelsNeeded read those, never the name, which only names the arm's model, run and table row.
import type { TRunSpecInput, TSynthesizeSettingsInput } from '../core/spec';
import type { ArmName } from './arm-names';
import type { WorldSize } from './sizes';

export type { ArmName };

/** Where an arm's training tasks come from and, where they are synthesized, which of them stay. */
export type ArmTasks =
  /** none: captions alone; gold: rows of the dataset itself. Neither has a synthesize or filter stage. */
  | { tasks: 'none' | 'gold'; filter?: never }
  | {
      /** the rule-based synthesizer, or the world's trained one */
      tasks: 'rules' | 'model';
      /** model: the world's trained consistency judge; rules: no consistency filter, every task stays */
      filter: 'rules' | 'model';
    };

export type Arm = ArmTasks & {
  name: ArmName;
  /** what the table says the arm is */
  label: string;
  /** what compose makes of each image (the spec's compose.content) */
  content: 'caption-only' | 'task-only' | 'caption-and-task';
  /** the arm whose trained model this arm starts from, instead of the general base */
  after?: ArmName;
};

export const ARMS: readonly Arm[] = [
  // the "captions only" baseline, and stage 1 of two-stage
  { name: 'captions', label: 'captions only', tasks: 'none', content: 'caption-only' },
  // the manual-rules baseline
  { name: 'rules', label: 'rule-based synthesizer', tasks: 'rules', filter: 'rules', content: 'caption-and-task' },
  { name: 'unfiltered', label: 'trained synthesizer, no filter', tasks: 'model', filter: 'rules', content: 'caption-and-task' },
  // the method
  { name: 'adamllm', label: 'trained synthesizer + consistency filter (AdaMLLM)', tasks: 'model', filter: 'model', content: 'caption-and-task' },
  // stage 2: the captions model, trained on the judged tasks alone
  { name: 'two-stage', label: 'two-stage: captions, then filtered tasks', tasks: 'model', filter: 'model', content: 'task-only', after: 'captions' },
  // gold tasks read off the slides by the benchmark's own generators: not the method, the most this
  // post-training gains from tasks that are always right and shaped like the benchmark (what a
  // perfect synthesizer would give). Each is a row of its own beside its pair (domainGoldPairs),
  // so caption-only composes it as it comes, like a caption.
  { name: 'ceiling', label: 'ceiling, not the method: captions + gold tasks', tasks: 'gold', content: 'caption-only' },
];

/** Which of the world's models the arms need trained besides the base: each only where some arm uses it. */
export function modelsNeeded(arms: readonly Arm[]): { synthesizer: boolean; judge: boolean } {
  return { synthesizer: arms.some((a) => a.tasks === 'model'), judge: arms.some((a) => a.filter === 'model') };
}

/** The models every arm uses: trained once per world (trainModel), found by their folders. */
export interface DemoModels {
  /** the general base model: HF folder (trained from) and ONNX folder (evaluated) */
  base: { hf: string; onnx: string };
  /**
   * `served`: the synthesizer as a vLLM server answers it (`demo --synthesizer-vllm`), used
   * instead of the ONNX folder; `revision` (the synthesizer's Model revision) puts the weights in
   * the spec, so a run of another synthesizer served at the same URL is never taken for this one's
   */
  synthesizer: { onnx: string; served?: { baseUrl: string; model: string; revision: string } };
  judge: { onnx: string };
}

const QUICK = { retry: { maximumAttempts: 2, initialIntervalSeconds: 1 } };

/**
 * The synthesize stage of the arms with the trained synthesizer: through the served synthesizer
 * where there is one, else its ONNX folder in-process (synthesis-check.ts runs it both ways).
 */
export function modelSynthesisStage(m: DemoModels['synthesizer'], size: WorldSize): TSynthesizeSettingsInput {
  const model: TSynthesizeSettingsInput['model'] = m.served ? { backend: 'openai', baseUrl: m.served.baseUrl, model: m.served.model, revision: m.served.revision } : { backend: 'onnx', path: m.onnx };
  return { ...QUICK, synthesizer: 'model', model, maxNewTokens: size.synthesizerTokens, batchSize: 8, shardSize: 64 };
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
  /**
   * The trainer seed of the arm's post-training (the order it reads its rows in); absent, the
   * trainer's default (42) and a spec without the key, so the runs of a demo without a seed are
   * reused. Another seed is another run and model (`world-<arm>-seed<N>`).
   */
  adaptSeed?: number;
}

/** The adaptDomain run spec of one arm. Deterministic: the same inputs give the same spec (and spec hash). */
export function armSpec(arm: Arm, x: ArmInputs): TRunSpecInput {
  const synthesized = arm.tasks === 'rules' || arm.tasks === 'model';
  const gold = arm.tasks === 'gold';
  if (arm.after && !x.startFrom) throw new Error(`demo arm ${arm.name} trains after ${arm.after}: its model folder is needed`);
  // an arm whose tasks came through vLLM trains a model of its own beside the in-process arm's
  const viaVllm = arm.tasks === 'model' && x.models.synthesizer.served ? '-vllm' : '';
  const modelName = `world-${arm.name}${x.adaptSeed === undefined ? '' : `-seed${x.adaptSeed}`}${viaVllm}`;
  const pipeline: TRunSpecInput['pipeline'] = synthesized
    ? ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report']
    : ['ingest', 'compose', 'export', 'train', 'evaluate', 'report'];
  return {
    version: 1,
    domain: 'slides',
    description: `adamllm demo world, arm "${arm.name}": ${arm.label}${viaVllm ? ' (synthesized through vLLM)' : ''}`,
    dataset: { format: 'sharegpt', path: gold ? x.domainGoldPairs : x.domainPairs, imageRoot: x.domainImageRoot },
    pipeline,
    stages: {
      // the gold rows share their pair's image on purpose: keep them
      ingest: { ...QUICK, shardSize: 256, ...(gold ? { dedupImages: false } : {}) },
      ...(synthesized
        ? {
            synthesize: arm.tasks === 'model'
              ? modelSynthesisStage(x.models.synthesizer, x.size)
              : { ...QUICK, synthesizer: 'rules', shardSize: 256 },
            filter: arm.filter === 'model'
              ? { ...QUICK, judge: 'model', model: { backend: 'onnx', path: x.models.judge.onnx }, batchSize: 8, shardSize: 64 }
              : // without the consistency filter every task stays, duplicates too: the platform's
                // duplicate rule is a filter of its own, and the paper's arm keeps them
                { ...QUICK, judge: 'rules', dropDuplicates: false, shardSize: 256 },
          }
        : {}),
      compose: { ...QUICK, shardSize: 256, content: arm.content },
      export: { ...QUICK, imagePaths: 'absolute' },
      train: {
        ...QUICK,
        baseModel: x.startFrom ?? x.models.base.hf,
        name: modelName,
        ...x.size.adapt,
        ...(x.adaptSeed === undefined ? {} : { seed: x.adaptSeed }),
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
          { kind: 'adapted', name: modelName, model: { backend: 'trained' } },
        ],
        // the world's images are 112 px: evaluate them at their own size, not upscaled to 224
        minPixels: x.size.side * x.size.side,
        maxNewTokens: x.size.answerTokens,
      },
    },
  };
}
