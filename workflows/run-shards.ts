// Child workflow: runs one batch of a stage's shards with bounded concurrency. Batches keep
// every history small however many items a run has (design.md, rule 2).
import { getExternalWorkflowHandle, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ShardRef, StageRef } from '../core/types';
import { nonRetryableErrorTypes } from '../core/errors';
import { shardDoneSignal } from './definitions';
import type { ActivityRetry } from './retry';
import { toRetryPolicy } from './retry';

export interface RunShardsInput {
  ref: StageRef;
  from: number;
  to: number;
  shardCount: number;
  concurrency: number;
  taskQueue: string;
  heartbeatTimeoutSeconds: number;
  shardTimeoutMinutes: number;
  retry: ActivityRetry;
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
  let next = input.from;
  let processed = 0;
  const signals: Promise<void>[] = [];
  const lane = async () => {
    while (next < input.to) {
      const shard = next++;
      const ref: ShardRef = { ...input.ref, shard, shardCount: input.shardCount };
      processed += (await runShard(ref)).processed;
      // Not awaited here: the next shard starts while the parent is told about this one. The
      // signal only feeds the progress query, so its failure (e.g. on cancellation) is dropped
      // rather than left as an unhandled rejection that would fail the workflow task.
      signals.push(parent.signal(shardDoneSignal, { stage: input.ref.stage, attempt: input.ref.attempt, shard }).catch(() => undefined));
    }
  };
  await Promise.all(Array.from({ length: Math.min(input.concurrency, input.to - input.from) }, lane));
  await Promise.all(signals);
  return { processed };
}
