// The workflow's in-memory state: what the progress query returns and what operator
// signals change. Carried across continue-as-new.
import type { StageName } from '../core/spec';
import type { RetryStageCommand, RunProgress, StageProgress } from '../core/types';

export type OperatorCommand = { kind: 'retry'; settings?: Record<string, unknown> } | { kind: 'skip' };

export interface RunState {
  progress: RunProgress;
  /** commands for a stage in FAILED_WAITING, consumed by the runner */
  commands: Partial<Record<StageName, OperatorCommand>>;
  abortRequested: boolean;
  abortReason?: string;
  /** shards already reported done in the current attempt, per stage */
  shardsSeen: Partial<Record<StageName, number[]>>;
}

export function stageOf(state: RunState, name: StageName): StageProgress {
  const st = state.progress.stages.find((s) => s.name === name);
  if (!st) throw new Error(`stage ${name} is not in this run's pipeline`);
  return st;
}

/** Accepts a retry or skip only for a stage that waits for the operator; returns why not otherwise. */
export function acceptCommand(state: RunState, stage: StageName, cmd: OperatorCommand): string | null {
  const st = state.progress.stages.find((s) => s.name === stage);
  if (!st) return `stage ${stage} is not in this run's pipeline`;
  if (st.status !== 'failed_waiting') return `stage ${stage} is ${st.status}, not failed_waiting`;
  state.commands[stage] = cmd;
  return null;
}

export function retryCommand(cmd: RetryStageCommand): OperatorCommand {
  return { kind: 'retry', settings: cmd.settings };
}
