// Child workflow: runs one batch of a stage's shards with bounded concurrency. Batches keep
// every history small however many items a run has (docs/architecture.md, rule 2).
import { getExternalWorkflowHandle, patched, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ShardRef, StageRef } from '../core/types';
import { nonRetryableErrorTypes } from '../core/errors';
import { shardDoneSignal } from './definitions';
import type { TRetry } from '../core/spec';
import { toRetryPolicy } from './retry-policy';

/** Marks children that report progress a few times per batch rather than after every shard. */
export const BATCHED_PROGRESS_PATCH = 'batched-shard-progress';
/**
 * Progress reports per batch. Each report is a signal, and each signal adds about four events
 * to the parent's history (the signal and a workflow task); one per shard put a million-item
 * stage (3,907 shards of 256) past 15,000 parent events. Eight keep the progress query moving
 * (every 8 shards of a 64-shard batch) at an eighth of the cost.
 */
const REPORTS_PER_BATCH = 8;

export interface RunShardsInput {
  ref: StageRef;
  from: number;
  to: number;
  shardCount: number;
  concurrency: number;
  taskQueue: string;
  heartbeatTimeoutSeconds: number;
  shardTimeoutMinutes: number;
  retry: TRetry;
  parentWorkflowId: string;
}

/** Runs shards [from, to); fails when a shard exhausts its retries (the parent then waits for the operator). */
export async function runShards(input: RunShardsInput): Promise<{ processed: number }> {
  const { runShard } = proxyActivities<Activities>({
    taskQueue: input.taskQueue,
    startToCloseTimeout: `${input.shardTimeoutMinutes} minutes`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    retry: { ...toRetryPolicy(input.retry), nonRetryableErrorTypes },
  });
  const parent = getExternalWorkflowHandle(input.parentWorkflowId);
  const batched = patched(BATCHED_PROGRESS_PATCH);
  const every = batched ? Math.ceil((input.to - input.from) / REPORTS_PER_BATCH) : 1;
  const { stage, attempt } = input.ref;
  let next = input.from;
  let processed = 0;
  let unreported: number[] = [];
  const signals: Promise<void>[] = [];
  // Not awaited by the lanes: the next shard starts while the parent is told. The signal only
  // feeds the progress query, so its failure (e.g. on cancellation) is dropped rather than left
  // as an unhandled rejection that would fail the workflow task.
  const report = () => {
    if (unreported.length === 0) return;
    const payload = batched ? { stage, attempt, shards: unreported } : { stage, attempt, shard: unreported[0] };
    unreported = [];
    signals.push(parent.signal(shardDoneSignal, payload).catch(() => undefined));
  };
  const lane = async () => {
    while (next < input.to) {
      const shard = next++;
      const ref: ShardRef = { ...input.ref, shard, shardCount: input.shardCount };
      processed += (await runShard(ref)).processed;
      unreported.push(shard);
      if (unreported.length >= every) report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.to - input.from) }, lane));
  report();
  await Promise.all(signals);
  return { processed };
}
