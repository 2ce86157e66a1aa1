// The operator's commands on adaptDomain, on the time-skipping test server with mocked
// activities: a stage that fails past its retries waits; retryStage (plain, and with patched
// settings, a bad patch refused), skipStage and abort do what they say; continue-as-new
// between stages and between shard batches loses and repeats nothing. The same semantics run
// against the real dev server and activities in tests/integration/operator.test.ts.
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { STAGE_ORDER, type StageName } from '../../core/spec';
import { TASK_QUEUES } from '../../core/stages';
import type { RunProgress } from '../../core/types';
import { FakeStages, progressUntil, shardUntilCancelled, startTimeSkipping, withWorkers } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
});
afterAll(async () => env?.teardown());

const DATA_STAGES = STAGE_ORDER.slice(0, 5);
const stage = (p: RunProgress, name: StageName) => p.stages.find((s) => s.name === name)!;
let counter = 0;

/** A spec over a dataset no activity reads (they are fakes), with the stage settings given. */
function spec(stages: Record<string, unknown> = {}, runtime: Record<string, unknown> = {}) {
  return {
    version: 1,
    domain: 'food',
    dataset: { format: 'jsonl', path: '/nowhere/data.jsonl', imageRoot: '/nowhere' },
    stages,
    runtime: { searchAttributes: false, ...runtime },
  };
}

async function start(s: unknown) {
  // result() only once the run can finish: awaiting it lets the test server skip time, also past
  // a run that waits for the operator (see progressUntil)
  return env.client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId: `ts-run-${counter++}`, args: [s] });
}

const failsUntilRetried = (fakes: FakeStages, name: StageName, failure: () => Error) => {
  const prev = fakes.shard;
  fakes.shard = (ref) => {
    if (ref.stage === name && ref.attempt === 1) throw failure();
    return prev?.(ref);
  };
};

test('a stage failing past its retries waits for the operator; retryStage runs a second attempt and the run goes on', async () => {
  const fakes = new FakeStages();
  // One shard: the stage fails when it has used its three tries. (With two, the batch child fails
  // while the other shard's retry timer is pending, and the test server's env.sleep then hangs.)
  fakes.shards = 1;
  failsUntilRetried(fakes, 'ingest', () => new Error('disk full'));
  // A minute before the second try and two before the third: time the test server skips.
  const s = spec({ ingest: { retry: { maximumAttempts: 3, initialIntervalSeconds: 60, backoffCoefficient: 2, maximumIntervalSeconds: 600 } } });
  const t0 = Date.now();
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(s);
    const waiting = await progressUntil(handle, (p) => stage(p, 'ingest').status === 'failed_waiting', 'ingest waits', {
      pause: () => env.sleep('30 seconds'),
    });
    expect(waiting.status).toBe('waiting');
    expect(stage(waiting, 'ingest')).toMatchObject({ attempt: 1, error: { message: 'disk full' } });
    expect(stage(waiting, 'synthesize').status).toBe('pending');
    // the stage's retry policy: three tries of the failing shard, then the stage fails once
    expect(fakes.of('runShard', 'ingest', 1)).toHaveLength(3);
    expect(fakes.of('failStageAttempt')).toEqual([expect.objectContaining({ stage: 'ingest', attempt: 1, message: 'disk full' })]);
    expect(fakes.of('planStage', 'synthesize')).toHaveLength(0);

    await handle.signal('retryStage', { stage: 'ingest' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(stage(done, 'ingest')).toMatchObject({ status: 'succeeded', attempt: 2, counts: { in: 5, out: 5, filtered: 0, failed: 0 } });
    expect(done.stages.map((st) => st.status)).toEqual(DATA_STAGES.map(() => 'succeeded'));
  });
  expect(Date.now() - t0).toBeLessThan(60_000); // three minutes of back-off took less real time
  expect(fakes.of('beginStageAttempt', 'ingest').map((c) => c.attempt)).toEqual([1, 2]);
  expect(fakes.of('completeStageAttempt', 'ingest').map((c) => c.attempt)).toEqual([2]);
  expect(fakes.of('finishRun')).toEqual([expect.objectContaining({ status: 'SUCCEEDED' })]);
});

test('retryStage with a bad patch is refused naming the field and loses nothing; a good patch then runs with the merged settings', async () => {
  const fakes = new FakeStages();
  // the stage empties under a pixel limit that refuses every image: a non-retryable failure
  fakes.finalize = (ref) => {
    if (ref.stage === 'ingest' && (ref.settings as { maxPixels: number }).maxPixels < 1000) {
      throw ApplicationFailure.nonRetryable('no image passed the checks', 'DatasetEmpty');
    }
    return undefined;
  };
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec({ ingest: { maxPixels: 100, shardSize: 7 } }));
    const waiting = await progressUntil(handle, (p) => stage(p, 'ingest').status === 'failed_waiting', 'ingest waits');
    expect(stage(waiting, 'ingest').error).toEqual({ type: 'DatasetEmpty', message: 'no image passed the checks' });
    expect(fakes.of('finalizeStage', 'ingest')).toHaveLength(1); // non-retryable: tried once

    await handle.signal('retryStage', { stage: 'ingest', settings: { maxPixels: -1 } });
    const refused = await progressUntil(handle, (p) => !!stage(p, 'ingest').lastCommandError, 'the bad patch is refused');
    expect(stage(refused, 'ingest').lastCommandError).toContain('stages.ingest.maxPixels');
    // nothing lost: the same attempt still waits with its error, and no new attempt began
    expect(refused.status).toBe('waiting');
    expect(stage(refused, 'ingest')).toMatchObject({ status: 'failed_waiting', attempt: 1, error: { type: 'DatasetEmpty' } });
    expect(fakes.of('beginStageAttempt', 'ingest')).toHaveLength(1);

    await handle.signal('retryStage', { stage: 'ingest', settings: { maxPixels: 10_000_000 } });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(stage(done, 'ingest')).toMatchObject({ status: 'succeeded', attempt: 2 });
    expect(stage(done, 'ingest').lastCommandError).toBeUndefined();
  });
  // the patch is merged into the attempt's settings: the new limit, the spec's other fields kept
  const [, second] = fakes.of('beginStageAttempt', 'ingest');
  expect(second).toMatchObject({ attempt: 2, settings: { maxPixels: 10_000_000, shardSize: 7 } });
  expect(fakes.of('planStage', 'ingest', 2)).toEqual([expect.objectContaining({ settings: expect.objectContaining({ maxPixels: 10_000_000 }) })]);
});

test('skipStage moves on past the waiting stage; a command for a stage that does not wait is ignored', async () => {
  const fakes = new FakeStages();
  failsUntilRetried(fakes, 'ingest', () => ApplicationFailure.nonRetryable('no such file', 'InvalidInput'));
  failsUntilRetried(fakes, 'compose', () => ApplicationFailure.nonRetryable('no template', 'InvalidInput'));
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec());
    await progressUntil(handle, (p) => stage(p, 'ingest').status === 'failed_waiting', 'ingest waits');
    await handle.signal('skipStage', { stage: 'compose' }); // pending, not waiting: ignored, not kept for later
    await handle.signal('skipStage', { stage: 'ingest' });
    const composeWaits = await progressUntil(handle, (p) => stage(p, 'compose').status === 'failed_waiting', 'compose waits');
    expect(composeWaits.stages.map((st) => st.status)).toEqual(['skipped', 'succeeded', 'succeeded', 'failed_waiting', 'pending']);
    await handle.signal('retryStage', { stage: 'compose' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.map((st) => [st.name, st.status, st.attempt])).toEqual([
      ['ingest', 'skipped', 1],
      ['synthesize', 'succeeded', 1],
      ['filter', 'succeeded', 1],
      ['compose', 'succeeded', 2],
      ['export', 'succeeded', 1],
    ]);
  });
  expect(fakes.of('setStageStatus')).toEqual([expect.objectContaining({ stage: 'ingest', status: 'SKIPPED' })]);
  expect(fakes.of('finalizeStage', 'ingest')).toHaveLength(0);
  expect(fakes.of('beginStageAttempt').map((c) => [c.stage, c.attempt])).toEqual([
    ['ingest', 1],
    ['synthesize', 1],
    ['filter', 1],
    ['compose', 1],
    ['compose', 2],
    ['export', 1],
  ]);
});

test('abort while a stage waits ends the run aborted with the reason; no later stage starts', async () => {
  const fakes = new FakeStages();
  failsUntilRetried(fakes, 'ingest', () => ApplicationFailure.nonRetryable('no such file', 'InvalidInput'));
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec());
    await progressUntil(handle, (p) => stage(p, 'ingest').status === 'failed_waiting', 'ingest waits');
    await handle.signal('abort', { reason: 'wrong pixel limit' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('aborted');
    expect(done.stages.map((st) => st.status)).toEqual(['failed_waiting', 'pending', 'pending', 'pending', 'pending']);
  });
  expect(fakes.of('finishRun')).toEqual([expect.objectContaining({ status: 'ABORTED', error: 'wrong pixel limit' })]);
  expect(fakes.of('planStage').map((c) => c.stage)).toEqual(['ingest']);
});

test('abort during a running stage cancels its shard activities and records the attempt cancelled', async () => {
  const fakes = new FakeStages();
  let cancelled = 0;
  fakes.shard = (ref) => (ref.stage === 'ingest' ? shardUntilCancelled(() => cancelled++) : undefined);
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec({ ingest: { shardConcurrency: 2 } }));
    await progressUntil(handle, () => fakes.of('runShard', 'ingest').length === 2, 'both shards run');
    await handle.signal('abort');
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('aborted');
    expect(stage(done, 'ingest').status).toBe('aborted');
  });
  expect(cancelled).toBe(2);
  expect(fakes.of('failStageAttempt')).toEqual([expect.objectContaining({ stage: 'ingest', attempt: 1, cancelled: true })]);
  expect(fakes.of('finalizeStage')).toHaveLength(0);
  expect(fakes.of('finishRun')).toEqual([expect.objectContaining({ status: 'ABORTED', error: 'aborted by operator' })]);
});

/** The run ids of a workflow's executions, first to last, following continue-as-new. */
async function executions(workflowId: string, firstRunId: string): Promise<string[]> {
  const ids = [firstRunId];
  for (;;) {
    const history = await env.client.workflow.getHandle(workflowId, ids[ids.length - 1]).fetchHistory();
    const last = history.events?.[history.events.length - 1];
    const next = last?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return ids;
    ids.push(next);
  }
}

test('continue-as-new between stages: the run is recorded, begun and finished once, every stage once', async () => {
  const fakes = new FakeStages();
  fakes.shards = 1;
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec({}, { maxHistoryEvents: 50 }));
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.map((st) => st.status)).toEqual(DATA_STAGES.map(() => 'succeeded'));
    expect((await executions(handle.workflowId, done.runId)).length).toBeGreaterThan(1);
  });
  expect(fakes.of('startRun')).toHaveLength(1);
  expect(fakes.of('finishRun')).toHaveLength(1);
  expect(fakes.of('beginStageAttempt').map((c) => [c.stage, c.attempt])).toEqual(DATA_STAGES.map((s) => [s, 1]));
  expect(fakes.of('finalizeStage').map((c) => c.stage)).toEqual(DATA_STAGES);
});

test('a stage of many shard batches continues-as-new between batches and runs every shard exactly once', async () => {
  const fakes = new FakeStages();
  fakes.plan = (ref) => (ref.stage === 'ingest' ? { shardCount: 12, total: 24 } : undefined);
  fakes.finalize = (ref) => (ref.stage === 'ingest' ? { counts: { in: 24, out: 24, filtered: 0, failed: 0 }, reasons: {} } : undefined);
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const handle = await start(spec({ ingest: { shardSize: 2, shardsPerChild: 2 } }, { maxHistoryEvents: 60 }));
    const done: RunProgress = await handle.result();
    expect(stage(done, 'ingest')).toMatchObject({ status: 'succeeded', attempt: 1, shardsDone: 12, shardsTotal: 12 });
    // more than one execution ran the ingest stage's six batches
    const runs = await executions(handle.workflowId, done.runId);
    const batchesPerRun = await Promise.all(
      runs.map(async (runId) => {
        const history = await env.client.workflow.getHandle(handle.workflowId, runId).fetchHistory();
        return (history.events ?? []).map((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '').filter((id) => id.includes('/ingest/'));
      }),
    );
    expect(batchesPerRun.filter((b) => b.length > 0).length).toBeGreaterThan(1);
    expect(batchesPerRun.flat().map((id) => id.split('/').pop()).sort()).toEqual(['batch-0', 'batch-1', 'batch-2', 'batch-3', 'batch-4', 'batch-5']);
  });
  expect(fakes.of('runShard', 'ingest').map((r) => r.shard as number).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  expect(fakes.of('planStage', 'ingest')).toHaveLength(1); // the resumed execution does not plan again
  expect(fakes.of('beginStageAttempt', 'ingest')).toHaveLength(1);
  expect(fakes.of('finalizeStage', 'ingest')).toHaveLength(1);
});
