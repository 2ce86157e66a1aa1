// Stage definitions the generic stage runner reads. Adding a stage (train, evaluate) means a
// definition here and an implementation in activities/stage/registry.ts; the runner stays as it is.
import type { StageName } from './spec';

export type Queue = 'cpu' | 'gpu' | 'remote';

export interface StageDefinition {
  name: StageName;
  /** which worker pool runs its activities */
  queue: Queue;
  /** per-item work fans out into shard activities; otherwise plan + finalize only */
  sharded: boolean;
  planTimeoutMinutes: number;
  finalizeTimeoutMinutes: number;
}

export const stageDefinitions: Record<StageName, StageDefinition> = {
  ingest: { name: 'ingest', queue: 'cpu', sharded: true, planTimeoutMinutes: 120, finalizeTimeoutMinutes: 30 },
  synthesize: { name: 'synthesize', queue: 'cpu', sharded: true, planTimeoutMinutes: 10, finalizeTimeoutMinutes: 30 },
  filter: { name: 'filter', queue: 'cpu', sharded: true, planTimeoutMinutes: 10, finalizeTimeoutMinutes: 30 },
  compose: { name: 'compose', queue: 'cpu', sharded: true, planTimeoutMinutes: 30, finalizeTimeoutMinutes: 30 },
  export: { name: 'export', queue: 'cpu', sharded: false, planTimeoutMinutes: 10, finalizeTimeoutMinutes: 120 },
  // one shard: the trainer subprocess (its heartbeat and time limit come from the shard settings)
  train: { name: 'train', queue: 'gpu', sharded: true, planTimeoutMinutes: 10, finalizeTimeoutMinutes: 30 },
  // plan counts benchmark rows (and hashes the files); shards run the models
  evaluate: { name: 'evaluate', queue: 'gpu', sharded: true, planTimeoutMinutes: 60, finalizeTimeoutMinutes: 30 },
  report: { name: 'report', queue: 'cpu', sharded: false, planTimeoutMinutes: 10, finalizeTimeoutMinutes: 30 },
};

/**
 * Where a stage's activities run. A stage that runs a model in-process moves to the GPU queue; one
 * whose every model is an endpoint (openai, or the trained model behind a server) runs on the
 * remote queue, whose workers only wait on HTTP: it never holds a GPU slot, and one worker process
 * keeps hundreds of requests in flight.
 */
export function queueFor(stage: StageName, settings: unknown): Queue {
  const s = (settings ?? {}) as { judge?: string; synthesizer?: string; model?: ModelLike; models?: { model?: ModelLike }[] };
  const modelStage = (stage === 'filter' && s.judge === 'model') || (stage === 'synthesize' && s.synthesizer === 'model');
  if (modelStage) return isRemote(s.model) ? 'remote' : 'gpu';
  if (stage === 'evaluate' && s.models?.length && s.models.every((m) => isRemote(m.model))) return 'remote';
  return stageDefinitions[stage].queue;
}

type ModelLike = { backend?: string; baseUrl?: string };
const isRemote = (m: ModelLike | undefined) => m?.backend === 'openai' || (m?.backend === 'trained' && typeof m.baseUrl === 'string');

export const TASK_QUEUES = {
  workflow: 'adamllm',
  cpu: 'adamllm-cpu',
  gpu: 'adamllm-gpu',
  remote: 'adamllm-remote',
} as const;
