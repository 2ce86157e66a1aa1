// The train stage (GPU queue): one shard that runs the Python trainer on the training set the
// export stage wrote (torchrun over the worker's GPUs when the launch has several processes),
// turns its JSON lines into heartbeats and TrainStep rows, sends SIGTERM on cancellation (the
// trainer checkpoints), resumes on retry from the checkpoint named in the last heartbeat, and
// records the adapted Model with its lineage (base model, training-set artifact, run, stage
// attempt) and the exported folders as artifacts.
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import { failure } from '../errors';
import { upsertBaseModel } from '../model-registry/upsert-model';
import type { StageContext, StageImplementation } from '../stage/context';
import { accounted } from '../stage/counts';
import { hashExports, recordTrainedModel, trainingMeta } from '../trainer/record-trained';
import { runTraining } from '../trainer/run-training';
import { exportsOnnx, trainerConfig, trainingKey } from '../trainer/trainer-config';
import { filteredOf, upsertTrainStep } from '../trainer/trainer-events';
import type { TrainerEvent } from '../trainer/trainer-process';

type Ctx = StageContext<'train'>;

async function trainingSet(ctx: Ctx) {
  const a = await ctx.db.artifact.findUnique({ where: { runId_stage_kind: { runId: ctx.runId, stage: 'export', kind: 'training-set' } } });
  if (!a) throw failure(ErrorTypes.MissingStageOutput, `train needs the export stage's training set, but run ${ctx.runId} has none`);
  return { ...a, path: a.uri.replace(/^file:\/\//, '') };
}

async function recordModel(ctx: Ctx, done: TrainerEvent, start: TrainerEvent | undefined, data: TrainerEvent | undefined, set: Awaited<ReturnType<typeof trainingSet>>) {
  const s = ctx.settings;
  const base = path.resolve(s.baseModel);
  const { id: baseId } = await upsertBaseModel(ctx.db, path.basename(base), base);
  const attempt = await ctx.db.stageAttempt.findFirst({ where: { stage: { runId: ctx.runId, name: 'train' }, attempt: ctx.attempt }, select: { id: true } });
  const exported = await hashExports(done);
  const meta = trainingMeta(exported, { done, start, data }, { finetuning: s.finetuning });
  await recordTrainedModel(ctx.db, {
    name: s.name ?? `${path.basename(base)}-${ctx.spec.domain}`,
    kind: 'ADAPTED',
    parentId: baseId,
    runId: ctx.runId,
    trainingSetId: set.id,
    stageAttemptId: attempt?.id ?? null,
    meta,
    exported,
    artifactStage: 'train',
  });
}

export const trainStage: StageImplementation<'train'> = {
  async plan(ctx) {
    if (!ctx.settings.baseModel) throw failure(ErrorTypes.InvalidRunSpec, 'stages.train.baseModel: required when the pipeline has train');
    const set = await trainingSet(ctx);
    const rows = Number((set.meta as { rows?: number } | null)?.rows ?? 0);
    return { total: rows, shardCount: 1 };
  },

  async shard(ctx) {
    const s = ctx.settings;
    const set = await trainingSet(ctx);
    const root = ctx.store.runDir(ctx.runId, 'train');
    const datasetDir = (set.meta as { imageRoot?: string } | null)?.imageRoot;
    const paths = { trainFile: set.path, cacheDir: path.join(ctx.store.root, 'cache', 'tokenized'), onnx: exportsOnnx(ctx.spec), datasetDir };
    const outputDir = path.join(root, trainingKey(trainerConfig(s, { ...paths, outputDir: '' }), set.sha256));
    const { done, start, data } = await runTraining({
      settings: s,
      outputDir,
      config: trainerConfig(s, { ...paths, outputDir }),
      resumeDetails: ctx.resumeDetails,
      heartbeat: ctx.heartbeat,
      cancelled: ctx.cancelled,
      gpus: ctx.gpus,
      python: ctx.python,
      onStep: (e) => upsertTrainStep(ctx.db, ctx.runId, ctx.attempt, e),
    });
    await recordModel(ctx, done, start, data, set);
    return { processed: 1 };
  },

  async finalize(ctx) {
    const set = await trainingSet(ctx);
    const model = await ctx.db.model.findFirst({ where: { runId: ctx.runId, kind: 'ADAPTED', trainingSetId: set.id }, orderBy: { updatedAt: 'desc' } });
    if (!model) throw failure(ErrorTypes.MissingStageOutput, `train: run ${ctx.runId} has no trained model recorded`);
    const meta = (model.meta ?? {}) as { examples?: number | null; dropped?: number | null; filtered?: unknown; steps?: number; finalLoss?: number; firstLoss?: number; hf?: string; onnx?: string | null };
    const rows = Number((set.meta as { rows?: number } | null)?.rows ?? 0);
    // each example left out with its reason (an unreadable image, too long for maxLength, …)
    const filtered = filteredOf({ filtered: meta.filtered ?? undefined, dropped: meta.dropped });
    const left = filtered.reduce((a, f) => a + f.n, 0);
    const out = typeof meta.examples === 'number' ? meta.examples : rows - left;
    const result = accounted('train', { in: rows, out, filtered: left, failed: 0 }, filtered);
    const speed = await ctx.db.trainStep.aggregate({ where: { runId: ctx.runId }, _avg: { tokensPerS: true }, _max: { peakMemoryBytes: true, worldSize: true } });
    return {
      ...result,
      outputs: {
        model: model.name,
        modelId: model.id,
        path: model.uri,
        hf: meta.hf ?? '',
        steps: meta.steps ?? 0,
        firstLoss: meta.firstLoss ?? 0,
        finalLoss: meta.finalLoss ?? 0,
        tokensPerS: Math.round((speed._avg.tokensPerS ?? 0) * 10) / 10,
        ...(meta.onnx ? { onnx: meta.onnx } : {}),
        ...(speed._max.worldSize ? { processes: speed._max.worldSize } : {}),
        ...(speed._max.peakMemoryBytes !== null ? { peakMemoryGiB: Math.round(Number(speed._max.peakMemoryBytes) / 2 ** 30 * 100) / 100 } : {}),
      },
    };
  },
};
