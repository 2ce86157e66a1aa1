// Payload shapes that cross the workflow/activity boundary. Small by rule: ids, counts,
// settings and URIs, never rows or images (docs/architecture.md, rule 1).
import type { StageName } from './spec';

/** in = out + filtered + failed, checked before a stage may succeed. */
export interface StageCounts {
  in: number;
  out: number;
  filtered: number;
  failed: number;
}

export interface StageRef {
  runId: string;
  stage: StageName;
  attempt: number;
  settings: unknown;
}

export interface ShardRef extends StageRef {
  shard: number;
  shardCount: number;
}

export interface StagePlan {
  shardCount: number;
  total: number;
}

export interface StageResult {
  counts: StageCounts;
  reasons: Record<string, number>;
  /** stage-specific references, e.g. export paths */
  outputs?: Record<string, string | number>;
}

export type StageStatus = 'pending' | 'running' | 'failed_waiting' | 'succeeded' | 'skipped' | 'aborted';

export interface StageProgress {
  name: StageName;
  status: StageStatus;
  attempt: number;
  shardsDone: number;
  shardsTotal: number;
  counts?: StageCounts;
  reasons?: Record<string, number>;
  outputs?: Record<string, string | number>;
  error?: { type?: string; message: string };
  lastCommandError?: string;
}

export type RunStatus = 'running' | 'waiting' | 'succeeded' | 'aborted';

export interface RunProgress {
  runId: string;
  workflowId: string;
  domain: string;
  status: RunStatus;
  stages: StageProgress[];
}

export interface RetryStageCommand {
  stage: StageName;
  /** merged into the stage's settings, validated before use */
  settings?: Record<string, unknown>;
}

export interface SkipStageCommand {
  stage: StageName;
}

export interface AbortCommand {
  reason?: string;
}

export function checkAccounting(c: StageCounts): boolean {
  return c.in === c.out + c.filtered + c.failed;
}
