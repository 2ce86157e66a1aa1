// Records a trained model: its exported folders hashed once (the Model row's revision and the
// artifacts' sha256), the Model row with its lineage (parent, run, training set, stage attempt,
// meta) and the folders as artifacts of the run. Shared by the train stage and trainModel.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db, PrismaTypes } from '../db/client';
import { folderHash } from '../model-registry/folder-hash';
import { modelRevision, upsertModel, type ModelRef } from '../model-registry/upsert-model';
import type { TrainingOutcome } from './run-training';
import { filteredOf } from './trainer-events';
import type { TrainerEvent } from './trainer-process';

export interface ExportedModel {
  hf: string;
  onnx?: string;
  /** folder → content hash */
  hashes: Map<string, string>;
}

/** Bytes of every file under a folder. */
export async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir, { recursive: true })) {
    const st = await fs.stat(path.join(dir, String(f)));
    if (st.isFile()) total += st.size;
  }
  return total;
}

/** The folders a `done` event names, each hashed once. */
export async function hashExports(done: TrainerEvent): Promise<ExportedModel> {
  const onnx = typeof done.onnx === 'string' ? done.onnx : undefined;
  const hf = String(done.hf);
  const hashes = new Map<string, string>();
  for (const folder of [hf, onnx]) if (folder) hashes.set(folder, await folderHash(folder));
  return { hf, onnx, hashes };
}

/** The model's folder and revision: the ONNX export when there is one (what the onnx backend loads), else the HF one. */
export function modelFolder(e: ExportedModel): { uri: string; format: 'onnx' | 'hf'; revision: string } {
  const uri = e.onnx ?? e.hf;
  const format = e.onnx ? 'onnx' : 'hf';
  return { uri, format, revision: modelRevision(format, e.hashes.get(uri)!) };
}

/** The Model row's meta of a training: folders, steps, losses, what the trainer left out, where it began. */
export function trainingMeta(e: ExportedModel, o: TrainingOutcome, extra: Record<string, unknown> = {}): PrismaTypes.InputJsonValue {
  const { done, start, data } = o;
  return {
    hf: e.hf,
    onnx: e.onnx ?? null,
    steps: done.step,
    firstLoss: done.first_loss,
    finalLoss: done.final_loss,
    validation: done.validation ?? null,
    examples: data?.examples ?? null,
    dropped: data?.dropped ?? null,
    filtered: filteredOf(data),
    worldSize: start?.world_size ?? 1,
    ...extra,
    // where the successful attempt began: a resumed one names its checkpoint
    startStep: start?.step ?? 0,
    resumedFrom: start?.resumed_from ?? null,
  } as unknown as PrismaTypes.InputJsonValue;
}

export interface TrainedModel {
  name: string;
  kind: ModelRef['kind'];
  parentId: string;
  runId: string;
  trainingSetId: string;
  stageAttemptId?: string | null;
  meta: PrismaTypes.InputJsonValue;
  exported: ExportedModel;
  /** the Artifact rows' stage (model-hf, model-onnx) */
  artifactStage: string;
}

/** Upserts the Model row (by name + revision) with its lineage and the run's model artifacts; returns the model's id. */
export async function recordTrainedModel(db: Db, m: TrainedModel): Promise<string> {
  const { uri, format, revision } = modelFolder(m.exported);
  const id = await upsertModel(db, { name: m.name, kind: m.kind, family: 'qwen2vl', format, uri, revision });
  await db.model.update({
    where: { id },
    data: { parentId: m.parentId, runId: m.runId, trainingSetId: m.trainingSetId, stageAttemptId: m.stageAttemptId ?? null, meta: m.meta },
  });
  for (const [kind, folder] of [['model-hf', m.exported.hf], ['model-onnx', m.exported.onnx]] as const) {
    if (!folder) continue;
    const data = { uri: `file://${folder}`, sha256: m.exported.hashes.get(folder)!, bytes: BigInt(await folderSize(folder)), meta: { model: m.name } };
    const key = { runId: m.runId, stage: m.artifactStage, kind };
    await db.artifact.upsert({ where: { runId_stage_kind: key }, create: { ...key, ...data }, update: data });
  }
  return id;
}
