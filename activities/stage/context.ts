// What a stage implementation receives: the run's spec from the database (never from the
// payload), its parsed settings, and hooks for heartbeats and cancellation.
import { parseRunSpec, stageSettingsSchemas, type StageName, type TRunSpec, type TStageSettings } from '../../core/spec';
import type { StagePlan, StageRef, StageResult } from '../../core/types';
import { ErrorTypes } from '../../core/errors';
import type { ActivityDeps } from '../deps';
import { failure } from '../errors';

export interface StageContext<K extends StageName = StageName> extends ActivityDeps {
  runId: string;
  stage: K;
  attempt: number;
  spec: TRunSpec;
  settings: TStageSettings[K];
  heartbeat: (details?: unknown) => void;
  /** how often a long activity should beat when it beats on a timer (default 5 s) */
  heartbeatEveryMs?: number;
  /** the details of the last heartbeat before a retry, for resuming */
  resumeDetails: unknown;
  cancelled: AbortSignal;
}

export interface StageImplementation<K extends StageName = StageName> {
  /**
   * Drops this stage's per-item outcomes so they are recomputed. Called before plan when an
   * operator retried the stage with different settings; without it, shards only resume.
   */
  reset?(ctx: StageContext<K>): Promise<void>;
  plan(ctx: StageContext<K>): Promise<StagePlan>;
  shard?(ctx: StageContext<K>, shard: number, shardCount: number): Promise<{ processed: number }>;
  finalize(ctx: StageContext<K>): Promise<StageResult>;
}

export interface Hooks {
  heartbeat: (details?: unknown) => void;
  heartbeatEveryMs?: number;
  resumeDetails: unknown;
  cancelled: AbortSignal;
}

export async function loadContext<K extends StageName>(deps: ActivityDeps, ref: StageRef & { stage: K }, hooks: Hooks): Promise<StageContext<K>> {
  const run = await deps.db.run.findUnique({ where: { id: ref.runId }, select: { spec: true } });
  if (!run) throw failure(ErrorTypes.InvalidInput, `run ${ref.runId} is not in the database`);
  const spec = parseRunSpec(run.spec);
  const parsed = stageSettingsSchemas[ref.stage].safeParse(ref.settings ?? spec.stages[ref.stage]);
  if (!parsed.success) {
    throw failure(ErrorTypes.InvalidRunSpec, `stages.${ref.stage}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return { ...deps, ...hooks, runId: ref.runId, stage: ref.stage, attempt: ref.attempt, spec, settings: parsed.data as TStageSettings[K] };
}

/** The dataset a run ingested, or a clear failure when ingest has not run. */
export async function requireDataset(ctx: StageContext): Promise<{ id: string; imageRoot: string }> {
  const ds = await ctx.db.dataset.findUnique({
    where: { runId_name: { runId: ctx.runId, name: ctx.spec.dataset.name } },
    select: { id: true, imageRoot: true },
  });
  if (!ds) throw failure(ErrorTypes.MissingStageOutput, `stage ${ctx.stage} needs ingest's items, but run ${ctx.runId} has no dataset`);
  return ds;
}

/** Reason histogram key: the text before the first colon ("corrupt image: …" → "corrupt image"). */
export function reasonKey(reason: string | null): string {
  if (!reason) return 'unspecified';
  const i = reason.indexOf(':');
  return i < 0 ? reason : reason.slice(0, i);
}

export function histogram(rows: { reason: string | null; n: number }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of rows) out[reasonKey(r.reason)] = (out[reasonKey(r.reason)] ?? 0) + r.n;
  return out;
}

/** Shard `i` of `n` over [0, total): a contiguous range of indices. */
export function shardRange(shard: number, size: number): { lo: number; hi: number } {
  return { lo: shard * size, hi: (shard + 1) * size };
}
