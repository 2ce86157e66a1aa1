// Records workflow histories for the replay test: `npx tsx tests/helpers/record-histories.ts`.
// Re-record (and review the diff) only when a workflow change is meant to be incompatible;
// otherwise guard the change with patched() so these old histories still replay.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createDb } from '../../activities/db/client';
import { ArtifactStore } from '../../activities/store/artifact-store';
import { createDatabase, dropDatabase, migrate } from '../../cli/stack/database';
import { startTemporalDevServer } from '../../cli/stack/temporal-server';
import { createWorkers } from '../../workers/create-workers';
import { generateSample } from '../../samples/generate';
import { TASK_QUEUES } from '../../core/stages';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';

const OUT = path.join(__dirname, '..', 'fixtures', 'histories');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-record-'));
  const server = await startTemporalDevServer({ stateDir: path.join(tmp, 'temporal') });
  const serverUrl = 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `adamllm_record_${process.pid}`;
  const url = await createDatabase(serverUrl, name);
  try {
    await migrate(url);
    const db = createDb(url, 4);
    const nc = await NativeConnection.connect({ address: server.address });
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', '..', 'workflows') });
    const workers = await createWorkers({ connection: nc, namespace: 'default', deps: { db, store: new ArtifactStore(path.join(tmp, 'a')) }, queues: ['workflow', 'cpu'], cpuConcurrency: 4, gpuSlots: 1, workflowConcurrency: 10, workflowBundle: bundle });
    const running = Promise.all(workers.map((w) => w.run()));
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const m = await generateSample({ dir: path.join(tmp, 'data'), count: 24, bad: true, oversizeSide: 2500 });
    const spec = (over: object = {}) => ({ version: 1, domain: 'food', dataset: { format: m.format, path: m.annotationFile, imageRoot: m.imageRoot }, stages: { ingest: { shardSize: 8, maxPixels: 4_000_000, ...over } } });

    const ok = await client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId: 'replay-success', args: [spec()] });
    await ok.result();
    const retried = await client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId: 'replay-retry', args: [spec({ maxPixels: 100 })] });
    for (;;) {
      const p = await retried.query<{ stages: { status: string }[] }>('progress').catch(() => undefined);
      if (p?.stages[0].status === 'failed_waiting') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await retried.signal('retryStage', { stage: 'ingest', settings: { maxPixels: 4_000_000 } });
    await retried.result();

    fs.mkdirSync(OUT, { recursive: true });
    for (const id of ['replay-success', 'replay-retry', 'replay-success/ingest/attempt-1/batch-0']) {
      const history = await client.workflow.getHandle(id).fetchHistory();
      fs.writeFileSync(path.join(OUT, `${id.replace(/\//g, '__')}.json`), historyToJSON(history));
    }
    for (const w of workers) w.shutdown();
    await running;
    await nc.close();
    await db.$disconnect();
  } finally {
    await server.stop();
    await dropDatabase(serverUrl, name);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
