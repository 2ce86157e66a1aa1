// Run history writes: every run, stage status and stage attempt goes to Postgres as it
// happens, so the history outlives Temporal's retention. All writes are upserts keyed by
// (run), (run, stage) or (stage, attempt): a retried activity rewrites the same row.
import { parseRunSpec, SPEC_VERSION, type StageName } from '../../core/spec';
import { modelRunDomain, parseTrainModelSpec, TRAIN_MODEL_SPEC_VERSION, TRAIN_MODEL_STEPS, type TrainModelStep } from '../../core/train-model-spec';
import type { StageResult } from '../../core/types';
import type { Prisma } from '../db/client';
import type { ActivityDeps } from '../deps';
import { hashJson } from '../hashing/canonical-json';

type StageStatus = 'PENDING' | 'RUNNING' | 'FAILED_WAITING' | 'SUCCEEDED' | 'SKIPPED' | 'ABORTED';
type RunStatus = 'RUNNING' | 'WAITING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED';
/** adaptDomain's stages, or the steps of a model-training run (trainModel) */
type RecordedStage = StageName | TrainModelStep;

const json = (v: unknown) => v as Prisma.InputJsonValue;

export function createRunRecordActivities({ db }: ActivityDeps) {
  return {
    /** Creates the Run row and a PENDING row per pipeline stage; safe to repeat. */
    async startRun(input: { runId: string; workflowId: string; spec: unknown }): Promise<{ specHash: string }> {
      const spec = parseRunSpec(input.spec);
      const specHash = hashJson(spec);
      await db.run.upsert({
        where: { id: input.runId },
        create: { id: input.runId, workflowId: input.workflowId, domain: spec.domain, status: 'RUNNING', spec: json(spec), specHash, specVersion: SPEC_VERSION },
        update: {},
      });
      for (const [position, name] of spec.pipeline.entries()) {
        await db.stage.upsert({
          where: { runId_name: { runId: input.runId, name } },
          create: { runId: input.runId, name, position, status: 'PENDING', settings: json(spec.stages[name]) },
          update: {},
        });
      }
      return { specHash };
    },

    /**
     * The Run row of a model-training run (trainModel; domain `model:<role>`) and a PENDING row
     * per step (prepare, train), whose settings are the spec's part each step runs; safe to repeat.
     */
    async startModelRun(input: { runId: string; workflowId: string; spec: unknown }): Promise<{ specHash: string }> {
      const spec = parseTrainModelSpec(input.spec);
      const specHash = hashJson(spec);
      await db.run.upsert({
        where: { id: input.runId },
        create: { id: input.runId, workflowId: input.workflowId, domain: modelRunDomain(spec.role), status: 'RUNNING', spec: json(spec), specHash, specVersion: TRAIN_MODEL_SPEC_VERSION },
        update: {},
      });
      const settings = { prepare: { base: spec.base, data: spec.data, ...spec.prepare }, train: spec.train };
      for (const [position, name] of TRAIN_MODEL_STEPS.entries()) {
        await db.stage.upsert({
          where: { runId_name: { runId: input.runId, name } },
          create: { runId: input.runId, name, position, status: 'PENDING', settings: json(settings[name]) },
          update: {},
        });
      }
      return { specHash };
    },

    async beginStageAttempt(input: { runId: string; stage: RecordedStage; attempt: number; settings: unknown }): Promise<void> {
      const now = new Date();
      const stage = await db.stage.update({
        where: { runId_name: { runId: input.runId, name: input.stage } },
        data: { status: 'RUNNING', attempts: input.attempt, settings: json(input.settings), error: null, shardsDone: 0, shardsTotal: null },
        select: { id: true, startedAt: true },
      });
      if (!stage.startedAt) await db.stage.update({ where: { id: stage.id }, data: { startedAt: now } });
      await db.stageAttempt.upsert({
        where: { stageId_attempt: { stageId: stage.id, attempt: input.attempt } },
        create: { stageId: stage.id, attempt: input.attempt, status: 'RUNNING', settings: json(input.settings), startedAt: now },
        update: {},
      });
      await db.run.update({ where: { id: input.runId }, data: { status: 'RUNNING', error: null } });
    },

    async recordShardProgress(input: { runId: string; stage: RecordedStage; shardsDone: number; shardsTotal: number }): Promise<void> {
      await db.stage.update({
        where: { runId_name: { runId: input.runId, name: input.stage } },
        data: { shardsDone: input.shardsDone, shardsTotal: input.shardsTotal },
      });
    },

    async completeStageAttempt(input: { runId: string; stage: RecordedStage; attempt: number; result: StageResult }): Promise<void> {
      const { counts, reasons, outputs } = input.result;
      const now = new Date();
      const stage = await db.stage.update({
        where: { runId_name: { runId: input.runId, name: input.stage } },
        data: {
          status: 'SUCCEEDED',
          countIn: counts.in,
          countOut: counts.out,
          countFiltered: counts.filtered,
          countFailed: counts.failed,
          reasons: json(reasons),
          outputs: outputs ? json(outputs) : undefined,
          endedAt: now,
          error: null,
        },
        select: { id: true },
      });
      await db.stageAttempt.update({
        where: { stageId_attempt: { stageId: stage.id, attempt: input.attempt } },
        data: { status: 'SUCCEEDED', counts: json(counts), endedAt: now },
      });
    },

    /** Records a failed attempt; `waiting` marks the stage FAILED_WAITING and the run WAITING for the operator. */
    async failStageAttempt(input: { runId: string; stage: RecordedStage; attempt: number; errorType?: string; message: string; cancelled?: boolean }): Promise<void> {
      const now = new Date();
      const status: StageStatus = input.cancelled ? 'ABORTED' : 'FAILED_WAITING';
      const stage = await db.stage.update({
        where: { runId_name: { runId: input.runId, name: input.stage } },
        data: { status, error: input.message, endedAt: now },
        select: { id: true },
      });
      await db.stageAttempt.update({
        where: { stageId_attempt: { stageId: stage.id, attempt: input.attempt } },
        data: { status: input.cancelled ? 'CANCELLED' : 'FAILED', error: input.message, errorType: input.errorType ?? null, endedAt: now },
      });
      if (!input.cancelled) await db.run.update({ where: { id: input.runId }, data: { status: 'WAITING', error: `${input.stage}: ${input.message}` } });
    },

    async setStageStatus(input: { runId: string; stage: RecordedStage; status: 'SKIPPED' | 'ABORTED' }): Promise<void> {
      await db.stage.update({
        where: { runId_name: { runId: input.runId, name: input.stage } },
        data: { status: input.status, endedAt: new Date() },
      });
    },

    async finishRun(input: { runId: string; status: Exclude<RunStatus, 'RUNNING' | 'WAITING'>; error?: string }): Promise<void> {
      await db.run.update({ where: { id: input.runId }, data: { status: input.status, error: input.error ?? null, endedAt: new Date() } });
      if (input.status === 'ABORTED') {
        await db.stage.updateMany({ where: { runId: input.runId, status: { in: ['PENDING', 'RUNNING', 'FAILED_WAITING'] } }, data: { status: 'ABORTED' } });
      }
    },
  };
}
