// Accounting helpers shared by the stages: group rows by status and reason, and refuse to
// succeed when in != out + filtered + failed.
import { ErrorTypes } from '../../core/errors';
import { checkAccounting, type StageCounts, type StageResult } from '../../core/types';
import { failure } from '../errors';
import { histogram } from './context';

export function accounted(stage: string, counts: StageCounts, reasons: { reason: string | null; n: number }[]): StageResult {
  if (!checkAccounting(counts)) {
    throw failure(
      ErrorTypes.AccountingMismatch,
      `${stage}: in ${counts.in} != out ${counts.out} + filtered ${counts.filtered} + failed ${counts.failed}`,
    );
  }
  return { counts, reasons: histogram(reasons) };
}

/** Accepted items of a dataset: the input of every per-item stage after ingest. */
export async function acceptedCount(db: import('../db/client').Db, datasetId: string): Promise<number> {
  return db.item.count({ where: { datasetId, status: 'ACCEPTED' } });
}
