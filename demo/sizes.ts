// How big the demo's world and models are. `full` is sized for the demo's budget (the
// first run under 30 minutes on 2 CPU cores, everything trained on the spot); `test` is the
// reduced world the test suite runs the same path on.
//
// The arithmetic behind `full` (2 vCPU Intel Xeon, measured: docs/benchmarks.md): a 112 px
// image is 16 visual tokens after the 2×2 merge, a world row ~60-200 text tokens; the tiny
// model (hidden 128, 2 layers, vocabulary 1,024) trains at roughly 8 rows/s on one batch of 16
// and answers a benchmark row in ~0.1 s (≤ 32 new tokens).
import type { TTrainSettingsInput } from '../core/spec';
import type { WorldParams } from './world/world';
import type { ArmName } from './arm-names';

/**
 * The train settings a size sets for one model (the train stage's own fields and types, from
 * core/spec.ts): every one of these is given, so no trainer default decides a demo figure;
 * freezeVisionTower is the train stage's (adaptDomain arms only).
 */
export type TrainKnobs = Required<Pick<TTrainSettingsInput, 'learningRate' | 'epochs' | 'perDeviceBatchSize' | 'gradientAccumulationSteps' | 'maxLength' | 'warmupRatio' | 'weightDecay' | 'imageMaxPixels' | 'imageMinPixels' | 'gradientCheckpointing' | 'dataloaderWorkers' | 'tokenizeWorkers' | 'saveSteps' | 'validatePrompts'>> &
  Pick<TTrainSettingsInput, 'maxSteps' | 'freezeVisionTower'>;

export interface WorldSize extends WorldParams {
  /** the fresh model the general base starts from (init-model) */
  init: { vocabSize: number; hidden: number; heads?: number; layers: number; visionDepth: number };
  base: TrainKnobs;
  synthesizer: TrainKnobs;
  /** the judge's first lesson (the query block alone), then the whole prompt */
  judgeQuery: TrainKnobs;
  judge: TrainKnobs;
  /** each arm's post-training */
  adapt: TrainKnobs;
  /** seed tasks the judge learns from (each gives a Yes and a No row), with the whole ~500-token prompt and with its query block alone */
  judgeTasks: number;
  judgeQueryTasks: number;
  synthesizerTokens: number;
  answerTokens: number;
  /** the arms `demo` runs when none are named (all of them when absent) */
  defaultArms?: ArmName[];
}

const cpu = (o: Partial<TrainKnobs>): TrainKnobs => ({
  learningRate: 1e-3,
  epochs: 1,
  perDeviceBatchSize: 16,
  gradientAccumulationSteps: 1,
  maxLength: 1024,
  warmupRatio: 0.05,
  weightDecay: 0,
  imageMaxPixels: 112 * 112,
  imageMinPixels: 28 * 28,
  // activations of a 2-layer model are small: recomputing them would only cost time
  gradientCheckpointing: false,
  // the images are tiny PNGs: decoding them in the trainer process beats forking workers on 2 cores
  dataloaderWorkers: 0,
  tokenizeWorkers: 1,
  saveSteps: 100_000,
  validatePrompts: 1,
  ...o,
});

export const DEMO_SIZES: Record<'full' | 'test', WorldSize> = {
  full: {
    seed: 0,
    generalImages: 1200,
    domainImages: 500,
    benchmarkRows: 200,
    side: 112,
    init: { vocabSize: 1024, hidden: 128, layers: 2, visionDepth: 2 },
    base: cpu({ epochs: 3 }),
    synthesizer: cpu({ epochs: 6 }),
    // the judge's two lessons (its accuracy on held-out rows: demo/diagnostics/judge-world.ts)
    judgeQuery: cpu({ epochs: 6, perDeviceBatchSize: 32 }),
    judge: cpu({ epochs: 2, perDeviceBatchSize: 32 }),
    // The vision tower is trained too (the paper freezes it for Qwen2-VL, trains it for LLaVA): a
    // 64-wide tower that has only seen flat shapes does not tell cell types apart, so frozen, no
    // training set lifts the base much (the recipe's choice, with its figures: docs/demo-results.md).
    // 500 rows × 6 epochs = 188 steps.
    adapt: cpu({ epochs: 6, learningRate: 1e-3, freezeVisionTower: false }),
    judgeTasks: 1500,
    judgeQueryTasks: 1500,
    synthesizerTokens: 96,
    answerTokens: 32,
  },
  test: {
    seed: 0,
    generalImages: 24,
    domainImages: 16,
    benchmarkRows: 8,
    side: 56,
    // 2 heads of 32: vLLM's CPU attention has no kernel for heads of 16 (demo --synthesizer-vllm)
    init: { vocabSize: 512, hidden: 64, heads: 2, layers: 2, visionDepth: 1 },
    base: cpu({ maxSteps: 2, imageMaxPixels: 56 * 56 }),
    // enough steps for the synthesizer to write its grammar (else synthesis parses nothing and the arm has no set)
    synthesizer: cpu({ epochs: 60, perDeviceBatchSize: 4, learningRate: 3e-3, warmupRatio: 0, imageMaxPixels: 56 * 56 }),
    judgeQuery: cpu({ maxSteps: 2 }),
    // the reduced world's smaller vocabulary spends ~1.1k tokens on the whole judge prompt
    judge: cpu({ maxSteps: 2, maxLength: 2048 }),
    adapt: cpu({ maxSteps: 2, imageMaxPixels: 56 * 56 }),
    judgeTasks: 8,
    judgeQueryTasks: 8,
    // a memorized seed conversation asks each question twice (precise, informative) within ~250 tokens
    synthesizerTokens: 256,
    answerTokens: 8,
    // on a world this small the trained synthesizer writes its grammar but never one question in
    // both modes: no triplet, so its arms would have no training set and wait at export
    defaultArms: ['captions', 'rules', 'ceiling'],
  },
};
