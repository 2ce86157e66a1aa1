// Process wiring: one Temporal worker per task queue. `adamllm` runs workflows,
// `adamllm-cpu` the CPU activities, `adamllm-gpu` the model compute (concurrency = GPU slots),
// `adamllm-remote` the model stages whose models are endpoints (their shards only wait on HTTP:
// concurrency = shards in flight; requests in flight are bounded per endpoint, not per shard).
import path from 'node:path';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { Db } from '../activities/db/client';
import type { ActivityDeps } from '../activities/deps';
import { ArtifactStore } from '../activities/store/artifact-store';
import { GpuPool } from '../activities/trainer/gpus';
import { TASK_QUEUES } from '../core/stages';
import { activityDepsOf, type TWorkerEnv } from './config';
import { ownedGpus } from './gpus';

export type QueueName = 'workflow' | 'cpu' | 'gpu' | 'remote';
export const ALL_QUEUES: QueueName[] = ['workflow', 'cpu', 'gpu', 'remote'];

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  deps: ActivityDeps;
  queues: QueueName[];
  cpuConcurrency: number;
  gpuSlots: number;
  /** remote-queue shards in flight (default 32) */
  remoteConcurrency?: number;
  workflowConcurrency: number;
  /** a prebuilt bundle (tests bundle once); otherwise the workflows folder is bundled at start */
  workflowBundle?: WorkflowBundleOption;
}

export async function createWorkers(o: WorkerOptions): Promise<Worker[]> {
  const activities = createActivities(o.deps);
  const workers: Worker[] = [];
  for (const q of o.queues) {
    if (q === 'workflow') {
      workers.push(
        await Worker.create({
          connection: o.connection,
          namespace: o.namespace,
          taskQueue: TASK_QUEUES.workflow,
          ...(o.workflowBundle ? { workflowBundle: o.workflowBundle } : { workflowsPath: path.join(__dirname, '..', 'workflows') }),
          maxConcurrentWorkflowTaskExecutions: o.workflowConcurrency,
        }),
      );
    } else {
      workers.push(
        await Worker.create({
          connection: o.connection,
          namespace: o.namespace,
          taskQueue: TASK_QUEUES[q],
          activities,
          maxConcurrentActivityTaskExecutions: q === 'gpu' ? o.gpuSlots : q === 'remote' ? (o.remoteConcurrency ?? 32) : o.cpuConcurrency,
        }),
      );
    }
  }
  return workers;
}

/**
 * The workers of one process, configured from its environment (workers/config.ts): the
 * standalone worker process and the embedded stack both start theirs so, and differ only in
 * where the connection and the database come from.
 */
export function createWorkersFromEnv(env: TWorkerEnv, o: { connection: NativeConnection; db: Db; queues: QueueName[] }): Promise<Worker[]> {
  return createWorkers({
    connection: o.connection,
    namespace: env.TEMPORAL_NAMESPACE,
    // only a process that serves the gpu queue claims GPUs
    deps: { ...activityDepsOf(env), db: o.db, store: new ArtifactStore(env.ADAMLLM_ARTIFACT_DIR), gpus: new GpuPool(o.queues.includes('gpu') ? ownedGpus(env) : []) },
    queues: o.queues,
    cpuConcurrency: env.ADAMLLM_CPU_CONCURRENCY,
    gpuSlots: env.ADAMLLM_GPU_SLOTS,
    remoteConcurrency: env.ADAMLLM_REMOTE_CONCURRENCY,
    workflowConcurrency: env.ADAMLLM_WORKFLOW_CONCURRENCY,
    workflowBundle: env.ADAMLLM_WORKFLOW_BUNDLE ? { codePath: env.ADAMLLM_WORKFLOW_BUNDLE } : undefined,
  });
}

/** Runs workers until shutdown; resolves when every one has stopped. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}

export function parseQueues(s: string): QueueName[] {
  const qs = s.split(',').map((x) => x.trim()).filter(Boolean);
  for (const q of qs) if (!ALL_QUEUES.includes(q as QueueName)) throw new Error(`unknown queue "${q}": use ${ALL_QUEUES.join(', ')}`);
  return qs as QueueName[];
}
