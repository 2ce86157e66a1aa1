// Standalone worker process: `node dist/workers/main.js [workflow,cpu,gpu]`.
// Configuration comes from the environment (workers/config.ts).
import './threads'; // first: sizes libuv's threadpool before anything starts it
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { createDb } from '../activities/db/client';
import { ArtifactStore } from '../activities/store/artifact-store';
import { GpuPool } from '../activities/train/gpus';
import { activityDepsOf, parseWorkerEnv } from './config';
import { ALL_QUEUES, createWorkers, parseQueues, runWorkers } from './create-workers';
import { ownedGpus } from './gpus';

export async function startWorkerProcess(queueArg?: string): Promise<void> {
  const env = parseWorkerEnv();
  Runtime.install({ logger: new DefaultLogger(env.ADAMLLM_LOG_LEVEL) });
  const queues = queueArg ? parseQueues(queueArg) : ALL_QUEUES;
  const db = createDb(env.DATABASE_URL, env.DATABASE_POOL_MAX);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const workers = await createWorkers({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    deps: { ...activityDepsOf(env), db, store: new ArtifactStore(env.ADAMLLM_ARTIFACT_DIR), gpus: new GpuPool(queues.includes('gpu') ? ownedGpus(env) : []) },
    queues,
    cpuConcurrency: env.ADAMLLM_CPU_CONCURRENCY,
    gpuSlots: env.ADAMLLM_GPU_SLOTS,
    remoteConcurrency: env.ADAMLLM_REMOTE_CONCURRENCY,
    workflowConcurrency: env.ADAMLLM_WORKFLOW_CONCURRENCY,
    workflowBundle: env.ADAMLLM_WORKFLOW_BUNDLE ? { codePath: env.ADAMLLM_WORKFLOW_BUNDLE } : undefined,
  });
  process.stdout.write(`adamllm workers ready: ${queues.join(', ')} on ${env.TEMPORAL_ADDRESS}\n`);
  try {
    await runWorkers(workers);
  } finally {
    await connection.close();
    await db.$disconnect();
  }
}

if (require.main === module) {
  startWorkerProcess(process.argv[2]).catch((err) => {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  });
}
