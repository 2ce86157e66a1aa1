// The demo as a workflow (demo/workflows/world-demo.ts) on Temporal's time-skipping server: the
// demo's activities are mocked, its children are real adaptDomain runs over faked stages. The
// demo runs its children in order, reuses a succeeded run instead of starting one, follows a run
// an earlier demo left under a child's id, writes its table from what ran, and fails, naming the
// child, when a child ends without succeeding. (trainModel's own steps are tested in
// tests/integration/train-model.test.ts; here the model step is an adaptDomain child, as the
// workflow runs a child by the type and id its activity names.)
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundle } from '@temporalio/worker';
import type { ChildRun, DemoActivities, DemoInput } from '../../demo/activities';
import type { ArmName } from '../../demo/arm-names';
import { DEMO_QUEUE, type DemoProgress } from '../../demo/progress';
import { demoInput, demoRunId, demoWorkflowId } from '../../demo/world-demo';
import type { TRunSpecInput } from '../../core/spec';
import { TASK_QUEUES } from '../../core/stages';
import type { RunProgress } from '../../core/types';
import { FakeStages, progressUntil, startTimeSkipping, withWorkers } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
});
afterAll(async () => env?.teardown());

const spec = (p: string): TRunSpecInput => ({
  version: 1,
  domain: 'slides',
  dataset: { format: 'jsonl', path: p, imageRoot: '/nowhere' },
  stages: {},
  runtime: { searchAttributes: false },
});
const childRun = (what: string, label: string): ChildRun => ({ workflowType: 'adaptDomain', workflowId: demoWorkflowId(what, spec(`/${what}.jsonl`)), label, spec: spec(`/${what}.jsonl`) });

test('ids name the work: a run by its spec, the demo by its input (options left out stay out)', () => {
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).toBe(demoWorkflowId('rules', spec('/a.jsonl')));
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).not.toBe(demoWorkflowId('rules', spec('/b.jsonl')));
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).toMatch(/^demo-rules-[0-9a-f]{12}$/);
  expect(demoInput({ size: 'test' }, '/d')).toEqual({ dir: '/d', size: 'test' });
  expect(demoInput({ size: 'test', synthesizerVllm: {} }, '/d')).toEqual({ dir: '/d', size: 'test', synthesizerVllm: {} });
  const id = demoRunId(demoInput({ size: 'test' }, '/d'));
  expect(id).toMatch(/^demo-world-test-[0-9a-f]{12}$/);
  expect(demoRunId(demoInput({ size: 'test' }, '/d'))).toBe(id);
  expect(demoRunId(demoInput({ size: 'test', arms: ['rules'] }, '/d'))).not.toBe(id);
  expect(demoRunId(demoInput({ size: 'test', adaptSeed: 7 }, '/d'))).not.toBe(id);
});

type Mocked = Pick<DemoActivities, 'prepareWorld' | 'modelRun' | 'armRun' | 'awaitRun' | 'writeComparisonTable' | 'stopSynthesizer'>;

/** Runs `fn` while the product's workers (faked stages) and the demo's worker (mocked activities) poll the test server. */
async function withDemo<T>(fakes: FakeStages, acts: Mocked, fn: () => Promise<T>): Promise<T> {
  const demo = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue: DEMO_QUEUE,
    workflowsPath: path.join(__dirname, '..', '..', 'demo', 'workflows'),
    activities: acts as unknown as DemoActivities,
  });
  return demo.runUntil(withWorkers(env, bundle, fakes.activities(), fn));
}

function mockedDemo(arms: ArmName[], o: { armRun: (name: ArmName) => ChildRun }) {
  const tables: Parameters<DemoActivities['writeComparisonTable']>[1][] = [];
  const awaited: string[] = [];
  const acts: Mocked = {
    prepareWorld: async () => ({ lines: ['world ready'], arms, after: {}, needs: { synthesizer: false, judge: false } }),
    modelRun: async () => childRun('base', 'world-base'),
    armRun: async (_input, _models, name) => o.armRun(name),
    awaitRun: async (workflowId) => (awaited.push(workflowId), { status: 'succeeded', runId: 'run-of-before', steps: 3, finalLoss: 0.5, hf: '/base/hf', onnx: '/base/onnx' }),
    writeComparisonTable: async (_input, done) => (tables.push(done), { rows: [], files: { markdown: '/t.md', chart: '/t.png', json: '/t.json' }, markdown: '| table |' }),
    stopSynthesizer: async () => undefined,
  };
  return { acts, tables, awaited };
}

const input: DemoInput = { dir: '/demo', size: 'test' };

/**
 * Waits in real time until a workflow has closed. Awaiting a result() lets the test server skip
 * time, and while a run left waiting for the operator has no timer it skips to that run's
 * execution timeout (see progressUntil): so the runs left waiting are aborted, and closed, before
 * any result() is awaited.
 */
async function untilClosed(handle: WorkflowHandle): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await handle.describe()).status.name === 'RUNNING') {
    if (Date.now() > deadline) throw new Error(`${handle.workflowId} did not close within 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function abortAndClose(handle: WorkflowHandle): Promise<void> {
  await handle.signal('abort', { reason: 'test' });
  await untilClosed(handle);
}

test('children run in order; a succeeded run is reused, a run left going is followed; the table gets what ran', async () => {
  const fakes = new FakeStages();
  // the base model's run, left waiting by an earlier demo under the same id
  let leftOver = '';
  fakes.shard = (ref) => {
    if (ref.stage === 'ingest' && ref.runId === leftOver) throw ApplicationFailure.nonRetryable('no such file', 'InvalidInput');
    return undefined;
  };
  const base = childRun('base', 'world-base');
  const rules = childRun('rules', 'arm rules');
  const { acts, tables, awaited } = mockedDemo(['captions', 'rules'], {
    armRun: (name) => (name === 'captions' ? { ...childRun('captions', 'arm captions'), reuse: { workflowId: 'demo-captions-before', runId: 'captions-run' } } : rules),
  });
  await withDemo(fakes, acts, async () => {
    const before = await env.client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId: base.workflowId, args: [base.spec] });
    leftOver = before.firstExecutionRunId;
    await progressUntil(before, (p) => p.stages[0].status === 'failed_waiting', 'the left-over run waits', { timeoutMs: 60_000 });

    const demo = await env.client.workflow.start('worldDemo', { taskQueue: DEMO_QUEUE, workflowId: demoRunId(input), args: [input] });
    await untilClosed(demo);
    await abortAndClose(before);
    const result = await demo.result();
    expect(result).toMatchObject({ ok: true, files: { markdown: '/t.md' } });
    const p = await demo.query<DemoProgress>('progress');
    expect(p.status).toBe('succeeded');
    expect(p.lines).toEqual(
      expect.arrayContaining([
        'world ready',
        `world-base: following the run still going from before, adaptDomain ${base.workflowId}`,
        'arm captions: reusing succeeded run demo-captions-before',
        `arm rules: adaptDomain ${rules.workflowId}`,
        '| table |',
      ]),
    );
    expect(awaited).toEqual([base.workflowId]);
    // the rules arm ran as a child of the demo, to its end
    const child = await env.client.workflow.getHandle(rules.workflowId).describe();
    expect(child.status.name).toBe('COMPLETED');
    expect(tables).toEqual([
      [
        { arm: 'captions', workflowId: 'demo-captions-before', runId: 'captions-run' },
        { arm: 'rules', workflowId: rules.workflowId, runId: child.runId },
      ],
    ]);
  });
  // one ingest for the left-over run and one for the rules arm: the followed run was not started again
  expect(fakes.of('planStage', 'ingest')).toHaveLength(2);
});

test('a child that ends without succeeding fails the demo, naming it; nothing after it runs', async () => {
  const fakes = new FakeStages();
  fakes.shard = (ref) => {
    if (ref.stage === 'ingest') throw ApplicationFailure.nonRetryable('no such file', 'InvalidInput');
    return undefined;
  };
  const rules = childRun('rules-aborted', 'arm rules');
  const { acts, tables } = mockedDemo(['rules', 'ceiling'], { armRun: () => rules });
  // every ingest fails here, so the model step is a run left waiting, which the demo follows (awaitRun, mocked)
  const base = await env.client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId: 'demo-base-left-waiting', args: [spec('/base.jsonl')] });
  acts.modelRun = async () => ({ workflowType: 'adaptDomain', workflowId: base.workflowId, label: 'world-base', spec: spec('/base.jsonl') });
  await withDemo(fakes, acts, async () => {
    await progressUntil(base, (p) => p.stages[0].status === 'failed_waiting', 'the model run waits', { timeoutMs: 60_000 });
    const demo = await env.client.workflow.start('worldDemo', { taskQueue: DEMO_QUEUE, workflowId: `${demoRunId(input)}-abort`, args: [input] });
    const child = env.client.workflow.getHandle(rules.workflowId);
    await progressUntil(child, (p: RunProgress) => p.stages[0]?.status === 'failed_waiting', 'the arm waits for the operator', { timeoutMs: 60_000 });
    await child.signal('abort', { reason: 'test' });
    await untilClosed(demo);
    await abortAndClose(base);
    const err = await demo.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((err as WorkflowFailedError).cause?.message).toBe(`demo: arm rules (adaptDomain ${rules.workflowId}) ended aborted`);
    expect(tables).toEqual([]);
  });
});
