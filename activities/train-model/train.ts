// The train step of a model-training run (GPU queue): the trainer on the prepared file with the
// role's sequence (chat, synthesizer, completion), in a folder of the artifact store named by the
// trainer config and the data's content hash (trainingKey), so a retry resumes from the
// checkpoint in its last heartbeat and a second run with the same spec and data finds the
// finished export (finished.json) and only records the model: no training, no TrainStep rows.
// Records the Model row (kind by role, format onnx, parent = the base) and the exported folders.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TTrainSettings } from '../../core/spec';
import { MODEL_KIND_OF_ROLE, SEQUENCE_OF_ROLE, type PreparedTraining, type TrainModelResult, type TTrainModelSpec } from '../../core/train-model-spec';
import type { StageResult } from '../../core/types';
import type { Db, PrismaTypes } from '../db/client';
import type { ArtifactStore } from '../store/artifact-store';
import { accounted } from '../stage/counts';
import type { GpuPool } from '../trainer/gpus';
import { hashExports, modelFolder, recordTrainedModel, trainingMeta, type ExportedModel } from '../trainer/record-trained';
import { runTraining, type TrainingOutcome } from '../trainer/run-training';
import { trainerConfig, trainingKey } from '../trainer/trainer-config';
import { filteredOf, upsertTrainStep } from '../trainer/trainer-events';

export interface TrainHooks {
  heartbeat: (details?: unknown) => void;
  resumeDetails: unknown;
  cancelled: AbortSignal;
}

export type TrainedSummary = Omit<TrainModelResult, 'runId' | 'name' | 'role' | 'status'>;

/** What a finished training folder keeps: the trainer's outcome and its exports' hashes. */
interface Finished {
  outcome: TrainingOutcome;
  hashes: [string, string][];
}

const finishedFile = (dir: string) => path.join(dir, 'finished.json');

async function readFinished(dir: string): Promise<{ outcome: TrainingOutcome; exported: ExportedModel } | null> {
  const f = await fs.readFile(finishedFile(dir), 'utf8').then((t) => JSON.parse(t) as Finished, () => null);
  if (!f) return null;
  const hashes = new Map(f.hashes);
  const exported: ExportedModel = { hf: String(f.outcome.done.hf), onnx: typeof f.outcome.done.onnx === 'string' ? f.outcome.done.onnx : undefined, hashes };
  // a folder removed by hand since: train again
  for (const folder of hashes.keys()) if (!(await fs.stat(path.join(folder, 'config.json')).catch(() => null))) return null;
  return { outcome: f.outcome, exported };
}

async function writeFinished(dir: string, f: Finished): Promise<void> {
  const tmp = `${finishedFile(dir)}.tmp-${process.pid}`;
  await fs.writeFile(tmp, JSON.stringify(f, null, 2));
  await fs.rename(tmp, finishedFile(dir));
}

/** The Model row of a finished folder under this spec's name, when one is already recorded (a reused run records nothing new). */
async function recordedModel(db: Db, name: string, exported: ExportedModel): Promise<string | null> {
  const { revision } = modelFolder(exported);
  const row = await db.model.findUnique({ where: { name_revision: { name, revision } }, select: { id: true } });
  return row?.id ?? null;
}

/** Runs (or reuses) the training; returns the model and the step's accounting (training rows in → examples trained, the rest filtered with the trainer's reasons). */
export async function trainPrepared(
  deps: { db: Db; store: ArtifactStore; gpus?: GpuPool; python?: string },
  input: { runId: string; attempt: number; spec: TTrainModelSpec; prepared: PreparedTraining },
  hooks: TrainHooks,
): Promise<{ model: TrainedSummary; result: StageResult }> {
  const { db, store } = deps;
  const { runId, spec, prepared } = input;
  const settings: TTrainSettings = { ...spec.train, baseModel: prepared.base.path, name: spec.name };
  const paths = { trainFile: prepared.trainFile, cacheDir: path.join(store.root, 'cache', 'tokenized'), onnx: spec.train.onnx, sequence: SEQUENCE_OF_ROLE[spec.role] };
  const key = trainingKey(trainerConfig(settings, { ...paths, outputDir: '' }), prepared.dataSha);
  const outputDir = path.join(store.root, 'train-model', key);

  let found = await readFinished(outputDir);
  const reused = found !== null;
  if (!found) {
    const outcome = await runTraining({
      settings,
      outputDir,
      config: trainerConfig(settings, { ...paths, outputDir }),
      resumeDetails: hooks.resumeDetails,
      heartbeat: hooks.heartbeat,
      cancelled: hooks.cancelled,
      gpus: deps.gpus,
      python: deps.python,
      onStep: (e) => upsertTrainStep(db, runId, input.attempt, e),
    });
    const exported = await hashExports(outcome.done);
    await writeFinished(outputDir, { outcome, hashes: [...exported.hashes] });
    found = { outcome, exported };
  }

  const { outcome, exported } = found;
  let modelId = reused ? await recordedModel(db, spec.name, exported) : null;
  if (!modelId) {
    const attempt = await db.stageAttempt.findFirst({ where: { stage: { runId, name: 'train' }, attempt: input.attempt }, select: { id: true } });
    const meta = trainingMeta(exported, outcome, { role: spec.role, sequence: SEQUENCE_OF_ROLE[spec.role], finetuning: spec.train.finetuning, trainingKey: key, base: prepared.base.path });
    modelId = await recordTrainedModel(db, {
      name: spec.name,
      kind: MODEL_KIND_OF_ROLE[spec.role],
      parentId: prepared.base.modelId,
      runId,
      trainingSetId: prepared.trainingSetId,
      stageAttemptId: attempt?.id ?? null,
      meta: meta as PrismaTypes.InputJsonValue,
      exported,
      artifactStage: 'train',
    });
  }

  const { done, data } = outcome;
  const filtered = filteredOf(data);
  const left = filtered.reduce((a, f) => a + f.n, 0);
  const out = typeof data?.examples === 'number' ? data.examples : prepared.rows - left;
  const result = accounted('train', { in: prepared.rows, out, filtered: left, failed: 0 }, filtered);
  const steps = Number(done.step ?? 0);
  const finalLoss = Number(done.final_loss ?? 0);
  const model: TrainedSummary = { modelId, onnx: exported.onnx ?? null, hf: exported.hf, steps, finalLoss, reused };
  const outputs: Record<string, string | number> = { model: spec.name, modelId, hf: exported.hf, steps, firstLoss: Number(done.first_loss ?? 0), finalLoss, reused: reused ? 1 : 0, folder: outputDir };
  if (exported.onnx) outputs.onnx = exported.onnx;
  return { model, result: { ...result, outputs } };
}
