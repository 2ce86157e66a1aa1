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
