// The generic stage runner: plan → shards in child-workflow batches → finalize, with
// per-stage retry policies. When a stage exhausts its retries the run does not fail: it
// waits for retryStage / skipStage / abort from the operator (operator-commands.ts).
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowFailure,
  ContinueAsNew,
  executeChild,
  isCancellation,
  log,
  proxyActivities,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { nonRetryableErrorTypes } from '../core/errors';
import { commonSettings, type StageName, type TAnyStageSettings, type TRunSpec } from '../core/spec';
import { queueFor, stageDefinitions, TASK_QUEUES } from '../core/stages';
import type { RunProgress, StageRef } from '../core/types';
import { awaitOperator } from './operator-commands';
import { records } from './proxies';
import { toRetryPolicy } from './retry-policy';
import { runShards } from './run-shards';
import { stageOf, type InFlightStage, type RunState } from './run-state';

export type StageOutcome = 'succeeded' | 'skipped' | 'aborted';

/** The deepest typed failure along the cause chain (activity → child workflow → application). */
export function describeFailure(err: unknown): { type?: string; message: string } {
  let e: unknown = err;
  let best: { type?: string; message: string } = { message: err instanceof Error ? err.message : String(err) };
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) best = { type: e.type ?? undefined, message: e.message };
    else if (!(e instanceof ActivityFailure || e instanceof ChildWorkflowFailure)) best = { type: best.type, message: e.message || best.message };
    e = (e as { cause?: unknown }).cause;
  }
  return best;
}

export interface StageScopes {
  current?: CancellationScope;
}

/**
 * Called between two shard batches with where the attempt stands; continues the run as new when
 * its history would otherwise grow past the limit (it then never returns). `batchEvents` is how
 * many events the last batch added, so the check can stop before the next one overshoots.
 */
export type BatchCheckpoint = (at: InFlightStage, batchEvents: number) => Promise<void>;

export async function runStage(
  state: RunState,
  spec: TRunSpec,
  name: StageName,
  scopes: StageScopes,
  setStatus: (s: RunProgress['status']) => void,
  checkpoint?: BatchCheckpoint,
): Promise<StageOutcome> {
  const st = stageOf(state, name);
  let settings: TAnyStageSettings = spec.stages[name];
  // An attempt the previous run continued-as-new in the middle of goes on where it stopped.
  let resumed = state.inFlight?.stage === name ? state.inFlight : undefined;
  state.inFlight = undefined;
  for (;;) {
    if (state.abortRequested) return 'aborted';
    let attempt: number;
    if (resumed) {
      attempt = resumed.attempt;
      settings = resumed.settings;
    } else {
      attempt = st.attempt + 1;
      Object.assign(st, { status: 'running', attempt, shardsDone: 0, shardsTotal: 0, error: undefined });
      state.shardsSeen[name] = [];
      await records.beginStageAttempt({ runId: state.progress.runId, stage: name, attempt, settings });
    }
    const ref: StageRef = { runId: state.progress.runId, stage: name, attempt, settings };
    const from = resumed;
    resumed = undefined;
    try {
      const scope = new CancellationScope();
      scopes.current = scope;
      // An abort that arrived while the attempt was being recorded finds no scope to cancel yet.
      if (state.abortRequested) scope.cancel();
      const result = await scope.run(() => executeStage(state, ref, settings, from, checkpoint));
      await records.completeStageAttempt({ runId: ref.runId, stage: name, attempt, result });
      Object.assign(st, { status: 'succeeded', counts: result.counts, reasons: result.reasons, outputs: result.outputs });
      return 'succeeded';
    } catch (err) {
      if (err instanceof ContinueAsNew) throw err; // not a failure: the next run resumes this attempt
      if (state.abortRequested && isCancellation(err)) {
        await records.failStageAttempt({ runId: ref.runId, stage: name, attempt, message: 'aborted by operator', cancelled: true });
        st.status = 'aborted';
        return 'aborted';
      }
      const failure = describeFailure(err);
      log.warn('stage failed; waiting for the operator', { stage: name, attempt, ...failure });
      await records.failStageAttempt({ runId: ref.runId, stage: name, attempt, errorType: failure.type, message: failure.message });
      Object.assign(st, { status: 'failed_waiting', error: failure });
      setStatus('waiting');
    } finally {
      scopes.current = undefined;
    }
    // Wait for the operator (durable: this can last days).
    const decision = await awaitOperator(state, name, settings);
    if (decision.kind === 'abort') return 'aborted';
    if (decision.kind === 'skip') {
      await records.setStageStatus({ runId: state.progress.runId, stage: name, status: 'SKIPPED' });
      st.status = 'skipped';
      setStatus('running');
      return 'skipped';
    }
    settings = decision.settings;
    setStatus('running');
  }
}

async function executeStage(state: RunState, ref: StageRef, settings: TAnyStageSettings, resumed?: InFlightStage, checkpoint?: BatchCheckpoint) {
  const def = stageDefinitions[ref.stage];
  const taskQueue = TASK_QUEUES[queueFor(ref.stage, settings)];
  const common = commonSettings(settings);
  const retry = { ...toRetryPolicy(common.retry), nonRetryableErrorTypes };
  const { heartbeatTimeoutSeconds } = common;
  const acts = proxyActivities<Activities>({ taskQueue, retry, startToCloseTimeout: `${def.planTimeoutMinutes} minutes`, heartbeatTimeout: `${heartbeatTimeoutSeconds} seconds` });
  const fin = proxyActivities<Activities>({ taskQueue, retry, startToCloseTimeout: `${def.finalizeTimeoutMinutes} minutes` });
  const st = stageOf(state, ref.stage);

  const shardCount = resumed ? resumed.shardCount : (await acts.planStage(ref)).shardCount;
  st.shardsTotal = shardCount;
  if (def.sharded && shardCount > 0) {
    const perChild = common.shardsPerChild;
    const { workflowId } = workflowInfo();
    for (let from = resumed?.from ?? 0; from < shardCount; from += perChild) {
      const to = Math.min(shardCount, from + perChild);
      const batch = Math.floor(from / perChild);
      const eventsBefore = workflowInfo().historyLength;
      // Progress signals of this batch count from its first shard (see the shardDone handler).
      (state.batchFrom ??= {})[ref.stage] = from;
      state.shardsSeen[ref.stage] = [];
      await executeChild(runShards, {
        workflowId: `${workflowId}/${ref.stage}/attempt-${ref.attempt}/batch-${batch}`,
        taskQueue: TASK_QUEUES.workflow,
        args: [
          {
            ref,
            from,
            to,
            shardCount,
            concurrency: common.shardConcurrency,
            taskQueue,
            heartbeatTimeoutSeconds,
            shardTimeoutMinutes: common.shardTimeoutMinutes,
            retry: common.retry,
            parentWorkflowId: workflowId,
          },
        ],
      });
      st.shardsDone = Math.max(st.shardsDone, to);
      await records.recordShardProgress({ runId: ref.runId, stage: ref.stage, shardsDone: st.shardsDone, shardsTotal: shardCount });
      if (to < shardCount && checkpoint) {
        await checkpoint({ stage: ref.stage, attempt: ref.attempt, settings, shardCount, from: to }, workflowInfo().historyLength - eventsBefore);
      }
    }
  }
  return fin.finalizeStage(ref);
}
