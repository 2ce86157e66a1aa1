// The workflow's in-memory state: what the progress query returns and what operator
// signals change. Carried across continue-as-new.
import type { StageName, TAnyStageSettings } from '../core/spec';
import type { RunProgress, StageProgress } from '../core/types';

/** A command accepted for a waiting stage, until its runner takes it. */
export type OperatorCommand = { kind: 'retry'; settings?: Record<string, unknown> } | { kind: 'skip' };

export interface RunState {
  progress: RunProgress;
  /** commands for a stage in FAILED_WAITING, consumed by the runner */
  commands: Partial<Record<StageName, OperatorCommand>>;
  abortRequested: boolean;
  abortReason?: string;
  /**
   * Shards reported done, per stage: of the running batch only (new runs; shards before the
   * batch are counted in shardsDone when it ends), or of the whole attempt (runs begun before
   * batched progress). Either way at most a batch's or an attempt's shard indices.
   */
  shardsSeen: Partial<Record<StageName, number[]>>;
  /** the first shard of the running batch, per stage: earlier shards are already counted */
  batchFrom?: Partial<Record<StageName, number>>;
  /** a stage attempt cut by continue-as-new between two shard batches, resumed by the next run */
  inFlight?: InFlightStage;
}

export interface InFlightStage {
  stage: StageName;
  attempt: number;
  /** the attempt's settings (an operator's patch included) */
  settings: TAnyStageSettings;
  shardCount: number;
  /** the first shard not yet run */
  from: number;
}

export function stageOf(state: RunState, name: StageName): StageProgress {
  const st = state.progress.stages.find((s) => s.name === name);
  if (!st) throw new Error(`stage ${name} is not in this run's pipeline`);
  return st;
}
