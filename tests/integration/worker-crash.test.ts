// Durability: SIGKILL the worker process in the middle of ingest, start a new one, and the
// run completes with no lost and no duplicated rows.
import type { RunProgress } from '../../core/types';
import { harness, tempDir, type Harness } from '../helpers/env';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

/** Waits until some shard of good images (the first 384 rows) has part of its results written. */
async function waitForHalfDoneShard(runId: string, shardSize: number): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    const rows = await h.db.$queryRaw<{ n: bigint }[]>`
      SELECT COUNT(*) AS n FROM (
        SELECT "sourceIndex" / ${shardSize} AS shard, COUNT(*) FILTER (WHERE status <> 'PENDING') AS decided, COUNT(*) AS total
        FROM "Item" i JOIN "Dataset" d ON d.id = i."datasetId" WHERE d."runId" = ${runId} AND "sourceIndex" < 384
        GROUP BY 1) s
      WHERE decided > 0 AND decided < total`;
    if (Number(rows[0].n) > 0) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no shard was ever seen half done');
}

test('a worker killed mid-stage is replaced and the run completes exactly once per item', async () => {
  const m = await sampleDataset({ count: 400, bad: true, oversizeSide: 2500 });
  const spec = specFor(m);
  // Shards of 64 images are written in two batches of 32 (ingest-stage.ts), so a shard can be seen half done.
  Object.assign((spec.stages as { ingest: Record<string, unknown> }).ingest, { shardSize: 64, shardConcurrency: 2, imageConcurrency: 1, heartbeatTimeoutSeconds: 2 });
  const artifacts = tempDir('crash-artifacts');
  const first = await startWorkerProcess(artifacts);
  const handle = await startRun(h.client, spec);
  const before = await waitForProgress(h.client, handle.workflowId, (p) => (p.stages[0].shardsDone ?? 0) >= 1, 90_000);
  expect(before.stages[0].status).toBe('running');
  // Kill while a shard is half done, so an activity is surely in flight.
  await waitForHalfDoneShard(before.runId, 64);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const decidedAtKill = await h.db.item.count({ where: { dataset: { runId: before.runId }, status: { not: 'PENDING' } } });
  expect(decidedAtKill).toBeLessThan(m.rows);

  await startWorkerProcess(artifacts);
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  const ingest = result.stages[0];
  expect(ingest.attempt).toBe(1); // the activity retries healed it; no operator needed
  expect(ingest.counts).toEqual({ in: m.rows, out: m.expected.accepted, filtered: 1, failed: m.rows - m.expected.accepted - 1 });

  const runId = result.runId;
  const items = await h.db.item.findMany({ where: { dataset: { runId } }, select: { sourceIndex: true, status: true } });
  expect(items).toHaveLength(m.rows);
  expect(new Set(items.map((i) => i.sourceIndex)).size).toBe(m.rows);
  expect(items.some((i) => i.status === 'PENDING')).toBe(false);
  expect(await h.db.synthTask.count({ where: { runId } })).toBe(m.expected.accepted);
  expect(await h.db.trainingRow.count({ where: { runId } })).toBe(m.expected.accepted);
  const compose = result.stages.find((s) => s.name === 'compose')!;
  expect(result.stages.find((s) => s.name === 'export')!.counts!.out).toBe(compose.counts!.out);

  // The shard activity that was running when the worker died timed out on its heartbeat and ran again.
  const child = h.client.workflow.getHandle(`${handle.workflowId}/ingest/attempt-1/batch-0`);
  const history = await child.fetchHistory();
  const timedOut = history.events!.filter((e) => e.activityTaskTimedOutEventAttributes || (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1);
  expect(timedOut.length).toBeGreaterThan(0);
}, 180_000);
