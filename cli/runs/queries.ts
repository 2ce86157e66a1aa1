// Run history read from Postgres. These work long after Temporal has dropped a workflow's
// history, because every stage attempt was recorded as it happened.
import type { Db } from '../../activities/db/client';

export async function listRuns(db: Db, f: { domain?: string; status?: string; limit?: number }) {
  return db.run.findMany({
    where: { domain: f.domain, status: f.status ? (f.status.toUpperCase() as never) : undefined },
    orderBy: { startedAt: 'desc' },
    take: f.limit ?? 20,
    select: {
      id: true,
      workflowId: true,
      domain: true,
      status: true,
      specHash: true,
      startedAt: true,
      endedAt: true,
      error: true,
      stages: { select: { name: true, status: true, countOut: true, position: true }, orderBy: { position: 'asc' } },
    },
  });
}

/** A run by its id or, failing that, the newest run of a workflow id. */
export async function findRun(db: Db, idOrWorkflowId: string) {
  const include = {
    stages: { orderBy: { position: 'asc' as const }, include: { attemptRows: { orderBy: { attempt: 'asc' as const } } } },
    artifacts: { orderBy: { createdAt: 'asc' as const } },
    datasets: true,
    metrics: { include: { model: { select: { name: true, kind: true, revision: true } } }, orderBy: [{ task: 'asc' as const }, { key: 'asc' as const }] },
    trainSteps: { orderBy: { step: 'asc' as const }, select: { step: true, totalSteps: true, loss: true, tokensPerS: true, paddingWaste: true, peakMemoryBytes: true, worldSize: true } },
    // the models this run trained (an adapted model, or a base, synthesizer or judge from trainModel)
    models: { where: { trainingSetId: { not: null } }, select: { name: true, kind: true, uri: true, format: true, parent: { select: { name: true } } } },
  };
  const byId = await db.run.findUnique({ where: { id: idOrWorkflowId }, include });
  if (byId) return byId;
  const byWorkflow = await db.run.findFirst({ where: { workflowId: idOrWorkflowId }, orderBy: { startedAt: 'desc' }, include });
  if (!byWorkflow) throw new RunNotFound(idOrWorkflowId);
  return byWorkflow;
}

export type RunDetail = Awaited<ReturnType<typeof findRun>>;

export class RunNotFound extends Error {
  constructor(id: string) {
    super(`no run with id or workflow id "${id}" in the database`);
  }
}
