// Test access to the shared services started by the global setup.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { createDb, type Db } from '../../activities/db/client';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { activityDepsOf, parseWorkerEnv } from '../../workers/config';
import { createWorkers, type QueueName } from '../../workers/create-workers';

let runtimeInstalled = false;

export function testEnv() {
  const temporal = process.env.ADAMLLM_TEST_TEMPORAL;
  const databaseUrl = process.env.ADAMLLM_TEST_DATABASE_URL;
  const bundle = process.env.ADAMLLM_TEST_BUNDLE;
  if (!temporal || !databaseUrl || !bundle) throw new Error('tests need the global setup (run them with jest from the project root)');
  return { temporal, databaseUrl, bundle, tmp: process.env.ADAMLLM_TEST_TMP ?? os.tmpdir() };
}

import { tempDir } from './tmp';

export { tempDir };

export interface Harness {
  db: Db;
  client: Client;
  /** the Temporal server's address (for a worker a test starts itself, as the demo's) */
  temporalAddress: string;
  store: ArtifactStore;
  startWorkers(queues?: QueueName[]): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** A database client, a Temporal client and in-process workers over the shared services. */
export async function harness(): Promise<Harness> {
  const env = testEnv();
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const db = createDb(env.databaseUrl, 4);
  const connection = await Connection.connect({ address: env.temporal });
  const client = new Client({ connection });
  const store = new ArtifactStore(tempDir('artifacts'));
  const running: { stop(): Promise<void> }[] = [];
  return {
    db,
    client,
    temporalAddress: env.temporal,
    store,
    async startWorkers(queues: QueueName[] = ['workflow', 'cpu', 'gpu', 'remote']) {
      const nc = await NativeConnection.connect({ address: env.temporal });
      const workers: Worker[] = await createWorkers({
        connection: nc,
        namespace: 'default',
        // what a worker takes from its environment (ADAMLLM_PYTHON, ADAMLLM_ONNX_DEVICE, API keys), through the same schema
        deps: { ...activityDepsOf(parseWorkerEnv({ ...process.env, DATABASE_URL: env.databaseUrl })), db, store },
        queues,
        cpuConcurrency: 4,
        gpuSlots: 1,
        workflowConcurrency: 20,
        workflowBundle: { codePath: env.bundle },
      });
      const done = Promise.all(workers.map((w) => w.run()));
      const handle = {
        async stop() {
          for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
          await done;
          await nc.close();
        },
      };
      running.push(handle);
      return handle;
    },
    async close() {
      for (const r of running) await r.stop().catch(() => undefined);
      await connection.close();
      await db.$disconnect();
    },
  };
}
