// A demo restarted after Ctrl-C (demo/world-demo.ts): the embedded Temporal kept the last
// demo's runs going, so the new demo must follow the run of the same work, not start it again
// beside it; once that run has ended, the same work starts afresh under the same id.
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundle } from '@temporalio/worker';
import { demoWorkflowId, startOrFollow } from '../../demo/world-demo';
import type { RunProgress } from '../../core/types';
import { FakeStages, progressUntil, startTimeSkipping, withWorkers } from '../helpers/time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
});
afterAll(async () => env?.teardown());

const spec = (path: string) => ({
  version: 1,
  domain: 'slides',
  dataset: { format: 'jsonl', path, imageRoot: '/nowhere' },
  stages: {},
  runtime: { searchAttributes: false },
});

test('the workflow id names the work: the same spec gives the same id, another spec another', () => {
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).toBe(demoWorkflowId('rules', spec('/a.jsonl')));
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).not.toBe(demoWorkflowId('rules', spec('/b.jsonl')));
  expect(demoWorkflowId('rules', spec('/a.jsonl'))).toMatch(/^demo-rules-[0-9a-f]{12}$/);
});

test('a restarted demo follows the run still going; after it ended, the same work starts afresh', async () => {
  const fakes = new FakeStages();
  // the run stays open, waiting for the operator, like a run a Ctrl-C left behind
  fakes.shard = (ref) => {
    if (ref.stage === 'ingest') throw ApplicationFailure.nonRetryable('no such file', 'InvalidInput');
    return undefined;
  };
  const s = spec('/nowhere/data.jsonl');
  const id = demoWorkflowId('captions', s);
  const said: string[] = [];
  const say = (line: string) => said.push(line);
  await withWorkers(env, bundle, fakes.activities(), async () => {
    const first = await startOrFollow(env.client, 'adaptDomain', id, s, say, 'arm captions');
    await progressUntil(first, (p) => p.stages[0].status === 'failed_waiting', 'ingest waits');

    const again = await startOrFollow(env.client, 'adaptDomain', id, s, say, 'arm captions');
    expect(again.firstExecutionRunId).toBe(first.firstExecutionRunId);
    expect(said).toEqual([`arm captions: adaptDomain ${id}`, `arm captions: following the run still going from before, adaptDomain ${id}`]);

    await first.signal('abort', { reason: 'test' });
    expect(((await first.result()) as RunProgress).status).toBe('aborted');
    const fresh = await startOrFollow(env.client, 'adaptDomain', id, s, say, 'arm captions');
    expect(fresh.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    expect(said[2]).toBe(`arm captions: adaptDomain ${id}`);
    await progressUntil(fresh, (p) => p.stages[0].status === 'failed_waiting', 'ingest waits again');
    await fresh.signal('abort', { reason: 'test' });
    await fresh.result();
  });
  // one ingest per run, two runs: following the first started nothing
  expect(new Set(fakes.of('planStage', 'ingest').map((c) => c.runId)).size).toBe(2);
  expect(fakes.of('planStage', 'ingest')).toHaveLength(2);
});
