// Accounting helpers shared by the stages: group rows by status and reason, and refuse to
// succeed when in != out + filtered + failed.
import { ErrorTypes } from '../../core/errors';
import { checkAccounting, type StageCounts, type StagePlan, type StageResult } from '../../core/types';
import { failure } from '../errors';
import type { Db } from '../db/client';
import { histogram, requireDataset, type StageContext } from './context';

export function accounted(stage: string, counts: StageCounts, reasons: { reason: string | null; n: number }[]): StageResult {
  if (!checkAccounting(counts)) {
    throw failure(
      ErrorTypes.AccountingMismatch,
      `${stage}: in ${counts.in} != out ${counts.out} + filtered ${counts.filtered} + failed ${counts.failed}`,
    );
  }
  return { counts, reasons: histogram(reasons) };
}

/** Plan of a stage that works on every accepted item, in synId-range shards. */
export async function planOverAcceptedItems(ctx: StageContext & { settings: { shardSize: number } }): Promise<StagePlan> {
  const dataset = await requireDataset(ctx);
  const total = await acceptedCount(ctx.db, dataset.id);
  return { total, shardCount: Math.ceil(total / ctx.settings.shardSize) };
}

/** Accepted items of a dataset: the input of every per-item stage after ingest. */
export async function acceptedCount(db: Db, datasetId: string): Promise<number> {
  return db.item.count({ where: { datasetId, status: 'ACCEPTED' } });
}

export interface ModelLedger {
  promptTokens: number;
  completionTokens: number;
  /** model time actually spent by this run (cache hits cost none) */
  modelSeconds: number;
  cachedOutputs: number;
  [key: string]: number;
}

type CostRow = { _sum: { promptTokens: number | null; completionTokens: number | null }; _count: { _all: number } };

function ledger(all: CostRow, fresh: { _sum: { modelMs: number | null } }, cachedOutputs: number): ModelLedger {
  return {
    promptTokens: all._sum.promptTokens ?? 0,
    completionTokens: all._sum.completionTokens ?? 0,
    modelSeconds: Math.round(fresh._sum.modelMs ?? 0) / 1000,
    cachedOutputs,
  };
}

/** Tokens and model-seconds of a run's model synthesis: the start of a cost ledger. */
export async function synthesisLedger(db: Db, runId: string): Promise<ModelLedger> {
  const where = { runId, synthesizer: 'model' };
  const [all, fresh, cached] = await Promise.all([
    db.synthTask.aggregate({ where, _sum: { promptTokens: true, completionTokens: true }, _count: { _all: true } }),
    db.synthTask.aggregate({ where: { ...where, cached: false }, _sum: { modelMs: true } }),
    db.synthTask.count({ where: { ...where, cached: true } }),
  ]);
  return ledger(all, fresh, cached);
}

/** The same for a run's model judgements. */
export async function judgeLedger(db: Db, runId: string): Promise<ModelLedger> {
  const where = { task: { runId }, cached: { not: null } };
  const [all, fresh, cached] = await Promise.all([
    db.verdict.aggregate({ where, _sum: { promptTokens: true, completionTokens: true }, _count: { _all: true } }),
    db.verdict.aggregate({ where: { task: { runId }, cached: false }, _sum: { modelMs: true } }),
    db.verdict.count({ where: { task: { runId }, cached: true } }),
  ]);
  return ledger(all, fresh, cached);
}
