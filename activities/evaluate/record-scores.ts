// Records a model's predictions and scores on a task into the run history: one Prediction per
// row (keyed by model, task, row, prompt hash, so a re-score rewrites rather than duplicates) and
// one Metric per paper key. The Model row comes from the model registry (model-registry/).
import { createHash } from 'node:crypto';
import type { EvalRow, RowScore } from '../../core/eval/tasks';
import type { Db, PrismaTypes } from '../db/client';
import type { ScoreReport } from './score-file';

const BATCH = 500;

export function promptHash(row: EvalRow): string {
  return createHash('sha256').update(typeof row.input === 'string' ? row.input : JSON.stringify(row.input ?? null)).digest('hex');
}

/** A row score's parse and flags, as a Prediction's details keep them. */
export function scoreDetails(s: RowScore) {
  return { parsed: s.parsed ?? null, stage: s.stage ?? null, random: !!s.random, missing: !!s.missing, error: s.error ?? null, kind: s.kind ?? null };
}

/** A sink for scoreFile's onRow that writes Prediction rows in batches; call flush() at the end. */
export function predictionWriter(db: Db, modelId: string, task: string) {
  let batch: { row: EvalRow; score: RowScore }[] = [];
  const flush = async () => {
    const rows = batch;
    batch = [];
    if (rows.length === 0) return;
    await db.$transaction(
      rows.map(({ row, score }) => {
        const data = {
          output: typeof row.pred === 'string' ? row.pred : null,
          score: score.score,
          details: scoreDetails(score) as PrismaTypes.InputJsonValue,
        };
        const key = { modelId, task, rowIndex: score.index, promptHash: promptHash(row) };
        return db.prediction.upsert({ where: { modelId_task_rowIndex_promptHash: key }, create: { ...key, ...data }, update: data });
      }),
    );
  };
  return {
    async add(row: EvalRow, score: RowScore) {
      batch.push({ row, score });
      if (batch.length >= BATCH) await flush();
    },
    flush,
  };
}

export async function recordMetrics(db: Db, runId: string, modelId: string, report: ScoreReport): Promise<void> {
  const testNum = Number(report.metrics.test_num ?? 0);
  const details = { missing: report.missing, random: report.random, errors: report.errors, f1Convention: report.f1Convention ?? null } as PrismaTypes.InputJsonValue;
  for (const [key, value] of Object.entries(report.metrics)) {
    if (key === 'test_num') continue;
    const row = await db.metric.upsert({
      where: { runId_modelId_task_key: { runId, modelId, task: report.task, key } },
      create: { runId, modelId, task: report.task, key, value, testNum, details },
      update: { value, testNum, details },
      select: { id: true },
    });
    // Prisma's parameter encoding can drop the last bit of a double (prisma#11096); the value
    // goes again as text, which Postgres parses exactly, so the stored score is the computed one.
    if (value !== null) await db.$executeRaw`UPDATE "Metric" SET "value" = ${String(value)}::float8 WHERE "id" = ${row.id}`;
  }
}
