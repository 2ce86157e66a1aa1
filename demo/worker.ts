// The demo's worker: the demo workflow (demo/workflows) and its activities (demo/activities.ts) on
// the demo's own task queue, in the process that runs `adamllm demo`. The product's workers never
// register the demo, so the demo stays a client of the product: its children (trainModel,
// adaptDomain) run on the product's queues like any user's runs.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Db } from '../activities/db/client';
import { createDemoActivities } from './activities';
import { DEMO_QUEUE } from './progress';

export interface DemoWorker {
  stop(): Promise<void>;
}

export async function startDemoWorker(o: { temporalAddress: string; namespace?: string; db: Db; client: Client; say: (line: string) => void }): Promise<DemoWorker> {
  const connection = await NativeConnection.connect({ address: o.temporalAddress });
  const activities = createDemoActivities({ db: o.db, client: o.client, say: o.say });
  let worker: Worker;
  try {
    worker = await Worker.create({
      connection,
      namespace: o.namespace ?? 'default',
      taskQueue: DEMO_QUEUE,
      workflowsPath: path.join(__dirname, 'workflows'),
      activities,
      // the world, a table, a served synthesizer and the awaited runs of an earlier demo: a few at most
      maxConcurrentActivityTaskExecutions: 4,
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = worker.run();
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      // a vLLM server this process started must not outlive it (the workflow starts one again when it goes on)
      await activities.stopSynthesizer().catch(() => undefined);
      await connection.close();
    },
  };
}
