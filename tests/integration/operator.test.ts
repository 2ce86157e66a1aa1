// The stage runner's operator semantics against the real dev server and activities:
// a stage that fails past its retries waits; retryStage (with patched settings),
// skipStage and abort do what they say; the progress query and Postgres agree.
import fs from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import type { RunProgress } from '../../core/types';
import { EXIT_WAITING, exitCodeOf, watchRun } from '../../cli/watch';
import { harness, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

const stage = (p: RunProgress, name: string) => p.stages.find((s) => s.name === name)!;

test('an invalid spec fails at once, non-retryable, naming the field', async () => {
  const handle = await startRun(h.client, { version: 1, domain: 'food', dataset: { format: 'xml', path: 'a', imageRoot: 'b' } });
  const err = await handle.result().catch((e) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(err.cause.type).toBe('InvalidRunSpec');
  expect(err.cause.nonRetryable).toBe(true);
  expect(err.cause.message).toContain('spec.dataset.format');
});

test('a missing annotation file waits for the operator; retryStage succeeds once the file is there', async () => {
  const m = await sampleDataset({ count: 20 });
  const moved = `${m.annotationFile}.away`;
  fs.renameSync(m.annotationFile, moved);
  const handle = await startRun(h.client, specFor(m));
  const waiting = await waitForProgress(h.client, handle.workflowId, (p) => stage(p, 'ingest').status === 'failed_waiting');
  expect(waiting.status).toBe('waiting');
  expect(stage(waiting, 'ingest').error).toMatchObject({ type: 'InvalidInput' });
  expect(stage(waiting, 'ingest').error!.message).toContain('dataset.path');
  expect(stage(waiting, 'synthesize').status).toBe('pending');

  // `start --wait` and `watch` follow it: they return at the wait with the operator's commands
  // and exit status 3, instead of following a waiting run for ever.
  const lines: string[] = [];
  const followed = await watchRun(h.client, handle.workflowId, (l) => lines.push(l), 100, { stopWhenWaiting: true });
  expect(exitCodeOf(followed)).toBe(EXIT_WAITING);
  expect(lines.join('\n')).toContain(`temporal workflow signal --workflow-id ${handle.workflowId} --name retryStage --input '{"stage":"ingest"}'`);

  const run = await h.db.run.findUniqueOrThrow({ where: { id: waiting.runId }, include: { stages: { include: { attemptRows: true } } } });
  expect(run.status).toBe('WAITING');
  const ingest = run.stages.find((s) => s.name === 'ingest')!;
  expect(ingest.status).toBe('FAILED_WAITING');
  expect(ingest.attemptRows).toHaveLength(1);
  expect(ingest.attemptRows[0]).toMatchObject({ status: 'FAILED', errorType: 'InvalidInput' });

  fs.renameSync(moved, m.annotationFile);
  await handle.signal('retryStage', { stage: 'ingest' });
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  expect(stage(result, 'ingest')).toMatchObject({ status: 'succeeded', attempt: 2, counts: { in: 20, out: 20, filtered: 0, failed: 0 } });
  const attempts = await h.db.stageAttempt.findMany({ where: { stage: { runId: result.runId, name: 'ingest' } }, orderBy: { attempt: 'asc' } });
  expect(attempts.map((a) => a.status)).toEqual(['FAILED', 'SUCCEEDED']);
});

test('retryStage with patched settings re-checks every image under the new limits', async () => {
  const m = await sampleDataset({ count: 12 });
  const spec = specFor(m);
  (spec.stages as { ingest: Record<string, unknown> }).ingest.maxPixels = 100; // refuses every image
  const handle = await startRun(h.client, spec);
  const waiting = await waitForProgress(h.client, handle.workflowId, (p) => stage(p, 'ingest').status === 'failed_waiting');
  expect(stage(waiting, 'ingest').error).toMatchObject({ type: 'DatasetEmpty' });

  // A bad patch is refused and the stage keeps waiting, with the reason in the progress query.
  await handle.signal('retryStage', { stage: 'ingest', settings: { maxPixels: -1 } });
  const refused = await waitForProgress(h.client, handle.workflowId, (p) => !!stage(p, 'ingest').lastCommandError);
  expect(stage(refused, 'ingest').status).toBe('failed_waiting');
  expect(stage(refused, 'ingest').lastCommandError).toContain('stages.ingest.maxPixels');

  await handle.signal('retryStage', { stage: 'ingest', settings: { maxPixels: 10_000_000 } });
  const result: RunProgress = await handle.result();
  expect(stage(result, 'ingest').counts).toEqual({ in: 12, out: 12, filtered: 0, failed: 0 });
  const attempt2 = await h.db.stageAttempt.findFirstOrThrow({ where: { stage: { runId: result.runId, name: 'ingest' }, attempt: 2 } });
  expect((attempt2.settings as { maxPixels: number }).maxPixels).toBe(10_000_000);
});

test('skipStage moves on; a later stage that then has nothing to work on waits; abort ends the run', async () => {
  const m = await sampleDataset({ count: 6 });
  const spec = specFor(m);
  (spec.stages as { ingest: Record<string, unknown> }).ingest.maxPixels = 100;
  const handle = await startRun(h.client, spec);
  await waitForProgress(h.client, handle.workflowId, (p) => stage(p, 'ingest').status === 'failed_waiting');
  // Signals for a stage that is not waiting are ignored.
  await handle.signal('skipStage', { stage: 'compose' });
  await handle.signal('skipStage', { stage: 'ingest' });
  const exportWaits = await waitForProgress(h.client, handle.workflowId, (p) => stage(p, 'export').status === 'failed_waiting');
  expect(stage(exportWaits, 'ingest').status).toBe('skipped');
  expect(stage(exportWaits, 'compose').status).toBe('succeeded');
  expect(stage(exportWaits, 'export').error).toMatchObject({ type: 'MissingStageOutput' });

  await handle.signal('abort', { reason: 'wrong pixel limit' });
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('aborted');
  const run = await h.db.run.findUniqueOrThrow({ where: { id: result.runId }, include: { stages: { orderBy: { position: 'asc' } } } });
  expect(run.status).toBe('ABORTED');
  expect(run.error).toBe('wrong pixel limit');
  expect(run.stages.map((s) => s.status)).toEqual(['SKIPPED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'ABORTED']);
});

test('abort during a running stage cancels its activities and records the run as aborted', async () => {
  const m = await sampleDataset({ count: 150 });
  const spec = specFor(m);
  Object.assign((spec.stages as { ingest: Record<string, unknown> }).ingest, { shardSize: 4, shardConcurrency: 1, imageConcurrency: 1 });
  const handle = await startRun(h.client, spec);
  const running = await waitForProgress(h.client, handle.workflowId, (p) => stage(p, 'ingest').shardsDone >= 1);
  expect(stage(running, 'ingest').shardsTotal).toBe(Math.ceil(150 / 4));
  await handle.signal('abort');
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('aborted');
  expect(stage(result, 'ingest').status).toBe('aborted');
  const attempt = await h.db.stageAttempt.findFirstOrThrow({ where: { stage: { runId: result.runId, name: 'ingest' } } });
  expect(attempt.status).toBe('CANCELLED');
});

test('continue-as-new between stages keeps one run with one history in Postgres', async () => {
  const m = await sampleDataset({ count: 10 });
  const handle = await startRun(h.client, specFor(m, { runtime: { maxHistoryEvents: 50, searchAttributes: true } }));
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  const latest = await handle.describe();
  expect(latest.runId).not.toBe(result.runId); // result.runId is the first execution's id: the run continued as new
  const runs = await h.db.run.findMany({ where: { workflowId: handle.workflowId } });
  expect(runs).toHaveLength(1);
  expect(runs[0].status).toBe('SUCCEEDED');
  // The domain/status search attributes make the run findable from the Temporal CLI.
  const found: string[] = [];
  for await (const w of h.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}' AND AdamllmStatus = 'succeeded' AND AdamllmDomain = 'food'` })) found.push(w.workflowId);
  expect(found).toEqual([handle.workflowId]);
});

test('a stage of many shard batches continues-as-new between batches and resumes where it stopped', async () => {
  const m = await sampleDataset({ count: 24 });
  const spec = specFor(m, { runtime: { maxHistoryEvents: 60, searchAttributes: true } });
  Object.assign((spec.stages as { ingest: Record<string, unknown> }).ingest, { shardSize: 2, shardsPerChild: 2 }); // 12 shards in 6 batches
  const handle = await startRun(h.client, spec);
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  expect(stage(result, 'ingest')).toMatchObject({ status: 'succeeded', attempt: 1, shardsDone: 12, shardsTotal: 12, counts: { in: 24, out: 24, filtered: 0, failed: 0 } });

  // Every batch child started exactly once, from several executions of the run.
  const batchesByRun: string[][] = [];
  for await (const w of h.client.workflow.list({ query: `WorkflowId = '${handle.workflowId}'` })) {
    const history = await h.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    batchesByRun.push(
      (history.events ?? [])
        .map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '')
        .filter((id) => id.includes('/ingest/'))
        .map((id) => id.split('/').pop()!),
    );
  }
  expect(batchesByRun.filter((b) => b.length > 0).length).toBeGreaterThan(1);
  expect(batchesByRun.flat().sort()).toEqual(['batch-0', 'batch-1', 'batch-2', 'batch-3', 'batch-4', 'batch-5']);
  const attempts = await h.db.stageAttempt.findMany({ where: { stage: { runId: result.runId, name: 'ingest' } } });
  expect(attempts.map((a) => a.status)).toEqual(['SUCCEEDED']);
});
