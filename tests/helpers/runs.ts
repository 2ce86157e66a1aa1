// Helpers to start runs and read their outcome in tests.
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Db } from '../../activities/db/client';
import type { RunProgress } from '../../core/types';
import { TASK_QUEUES } from '../../core/stages';
import { generateSample, type SampleManifest, type SampleOptions } from '../../samples/generate';
import { tempDir } from './env';

let counter = 0;

export function uniqueId(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now()}-${counter++}`;
}

export async function sampleDataset(o: Partial<SampleOptions> & { count: number }): Promise<SampleManifest> {
  return generateSample({ dir: tempDir('data'), ...o });
}

/** A spec over a generated dataset with test-friendly timeouts and retries. */
export function specFor(m: SampleManifest, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const fast = { retry: { maximumAttempts: 2, initialIntervalSeconds: 0.2 }, heartbeatTimeoutSeconds: 5 };
  return {
    version: 1,
    domain: 'food',
    dataset: { format: m.format, path: m.annotationFile, imageRoot: m.imageRoot },
    stages: {
      ingest: { ...fast, shardSize: 32, maxPixels: 4_000_000 },
      synthesize: { ...fast, shardSize: 64 },
      filter: { ...fast, shardSize: 64 },
      compose: { ...fast, shardSize: 64 },
      export: { retry: fast.retry },
    },
    ...overrides,
  };
}

export async function startRun(client: Client, spec: unknown, workflowId = uniqueId('run')) {
  return client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec] });
}

export async function waitForProgress(
  client: Client,
  workflowId: string,
  pred: (p: RunProgress) => boolean,
  timeoutMs = 60_000,
): Promise<RunProgress> {
  const h = client.workflow.getHandle(workflowId);
  const deadline = Date.now() + timeoutMs;
  let last: RunProgress | undefined;
  while (Date.now() < deadline) {
    try {
      last = await h.query<RunProgress>('progress');
      if (pred(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for progress; last: ${JSON.stringify(last)}`);
}

/**
 * Waits until a run's trainer has logged `steps` optimizer steps (TrainStep rows of that run);
 * throws, saying how many steps it saw and the last one, when they do not come in time.
 */
export async function waitForTrainSteps(db: Db, runId: string, steps: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  while (Date.now() < deadline) {
    seen = await db.trainStep.count({ where: { runId } });
    if (seen >= steps) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
  const last = await db.trainStep.findFirst({ where: { runId }, orderBy: { step: 'desc' }, select: { step: true, loss: true, createdAt: true } });
  throw new Error(`run ${runId}: ${seen} of ${steps} training steps within ${timeoutMs / 1000} s; last step: ${JSON.stringify(last)}`);
}

export const dataPath = (m: SampleManifest, f: string) => path.join(path.dirname(m.annotationFile), f);
