// The three generic stage activities the workflow calls: plan, runShard, finalize. Each
// loads its context from the database, dispatches through the registry and maps failures
// to typed Temporal errors.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { SpecError, type StageName } from '../../core/spec';
import type { ShardRef, StagePlan, StageRef, StageResult } from '../../core/types';
import type { ActivityDeps } from '../deps';
import { canonicalJson } from '../hashing/canonical-json';
import { failure } from '../errors';
import type { StageRegistry } from './registry';
import { loadContext, type StageContext, type StageImplementation } from './context';

function hooks() {
  const ctx = Context.current();
  return {
    heartbeat: (d?: unknown) => ctx.heartbeat(d),
    // a third of the heartbeat timeout (at most 5 s): two beats can be late before Temporal gives up
    heartbeatEveryMs: Math.max(100, Math.min(5000, (ctx.info.heartbeatTimeoutMs || 60_000) / 3)),
    resumeDetails: ctx.info.heartbeatDetails,
    cancelled: ctx.cancellationSignal,
  };
}

async function withStage<T>(
  deps: ActivityDeps,
  registry: StageRegistry,
  ref: StageRef,
  body: (impl: StageImplementation, ctx: StageContext) => Promise<T>,
): Promise<T> {
  const impl = registry[ref.stage as StageName] as StageImplementation | undefined;
  if (!impl) throw failure(ErrorTypes.UnknownStage, `no implementation for stage ${ref.stage} on this worker`);
  const h = hooks();
  try {
    const ctx = await loadContext(deps, ref, h);
    return await body(impl, ctx as StageContext);
  } catch (err) {
    if (h.cancelled.aborted) throw new CancelledFailure('stage activity cancelled');
    if (err instanceof SpecError) throw failure(ErrorTypes.InvalidRunSpec, err.message);
    throw err;
  }
}

/** True when this attempt's settings differ from the previous attempt's (an operator patch). */
async function settingsChanged(deps: ActivityDeps, ref: StageRef): Promise<boolean> {
  if (ref.attempt <= 1) return false;
  const prev = await deps.db.stageAttempt.findFirst({
    where: { stage: { runId: ref.runId, name: ref.stage }, attempt: ref.attempt - 1 },
    select: { settings: true },
  });
  return !!prev && canonicalJson(prev.settings) !== canonicalJson(ref.settings);
}

export function createStageActivities(deps: ActivityDeps, registry: StageRegistry) {
  return {
    /** Prepares a stage and says how many shards it has. Idempotent. */
    async planStage(ref: StageRef): Promise<StagePlan> {
      return withStage(deps, registry, ref, async (impl, ctx) => {
        if (impl.reset && (await settingsChanged(deps, ref))) await impl.reset(ctx);
        return impl.plan(ctx);
      });
    },
    /** Processes one shard; only undecided items are worked on, so a retry resumes. */
    async runShard(ref: ShardRef): Promise<{ processed: number }> {
      return withStage(deps, registry, ref, async (impl, ctx) => {
        if (!impl.shard) throw failure(ErrorTypes.UnknownStage, `stage ${ref.stage} is not sharded`);
        return impl.shard(ctx, ref.shard, ref.shardCount);
      });
    },
    /** Completes a stage and returns its accounting; throws AccountingMismatch when items went missing. */
    async finalizeStage(ref: StageRef): Promise<StageResult> {
      return withStage(deps, registry, ref, (impl, ctx) => impl.finalize(ctx));
    },
  };
}
