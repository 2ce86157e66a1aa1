// Standalone worker process: `node dist/workers/main.js [workflow,cpu,gpu]`.
// Configuration comes from the environment (workers/config.ts).
import './threads'; // first: sizes libuv's threadpool before anything starts it
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { createDb } from '../activities/db/client';
import { parseWorkerEnv } from './config';
import { ALL_QUEUES, createWorkersFromEnv, parseQueues, runWorkers } from './create-workers';

export async function startWorkerProcess(queueArg?: string): Promise<void> {
  const env = parseWorkerEnv();
  Runtime.install({ logger: new DefaultLogger(env.ADAMLLM_LOG_LEVEL) });
  const queues = queueArg ? parseQueues(queueArg) : ALL_QUEUES;
  const db = createDb(env.DATABASE_URL, env.DATABASE_POOL_MAX);
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const workers = await createWorkersFromEnv(env, { connection, db, queues });
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
