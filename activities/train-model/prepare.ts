// The prepare step of a model-training run (CPU queue): the base model (given, or made by
// init-model and cached), its BASE Model row, and the training file for the role, recorded as the
// run's artifacts. Everything it writes is content-addressed, so a retry or a second run with the
// same spec finds it and only re-records the rows (upserts).
import path from 'node:path';
import type { Db } from '../db/client';
import type { StageResult } from '../../core/types';
import type { PreparedTraining, TTrainModelSpec } from '../../core/train-model-spec';
import { accounted } from '../stage/counts';
import { describeFile, type ArtifactStore } from '../store/artifact-store';
import { upsertBaseModel } from '../model-registry/upsert-model';
import { folderSize } from '../trainer/record-trained';
import { resolveBase } from './base-model';
import { dataHash, trainingFiles } from './training-file';

export interface PrepareHooks {
  heartbeat: (details?: unknown) => void;
  cancelled: AbortSignal;
}

async function recordFile(db: Db, runId: string, kind: string, file: string, meta: Record<string, unknown>): Promise<string> {
  const f = await describeFile(file);
  const data = { uri: f.uri, sha256: f.sha256, bytes: BigInt(f.bytes), meta: meta as object };
  const key = { runId, stage: 'prepare', kind };
  const row = await db.artifact.upsert({ where: { runId_stage_kind: key }, create: { ...key, ...data }, update: data, select: { id: true } });
  return row.id;
}

/** Runs the prepare step; returns what train needs and the step's accounting (rows in → training rows out, images without tasks filtered). */
export async function prepareTraining(
  deps: { db: Db; store: ArtifactStore; python?: string },
  runId: string,
  spec: TTrainModelSpec,
  hooks: PrepareHooks,
): Promise<{ prepared: PreparedTraining; result: StageResult }> {
  const { db, store } = deps;
  hooks.heartbeat({ phase: 'base model' });
  const base = await resolveBase(store, spec.base, { signal: hooks.cancelled, heartbeat: () => hooks.heartbeat({ phase: 'init-model' }), python: deps.python });
  const { id: baseModelId, sha256: baseSha256 } = await upsertBaseModel(db, base.name, base.path);
  if (base.origin !== 'given') {
    // the made model as an artifact of the run that asked for it (its folder's content hash)
    const data = { uri: `file://${base.path}`, sha256: baseSha256, bytes: BigInt(await folderSize(base.path)), meta: { model: base.name, init: spec.base.init } as object };
    const key = { runId, stage: 'prepare', kind: 'base-model' };
    await db.artifact.upsert({ where: { runId_stage_kind: key }, create: { ...key, ...data }, update: data });
  }

  hooks.heartbeat({ phase: 'training file' });
  const files = await trainingFiles(store, spec.role, spec.data);
  const dataSha = await dataHash(files.train, (done, total) => hooks.heartbeat({ phase: 'hashing images', done, total }));
  const c = files.counts;
  const trainingSetId = await recordFile(db, runId, 'training-set', files.train, { role: spec.role, rows: c.train, dataSha });
  if (files.dev) await recordFile(db, runId, 'dev-set', files.dev, { role: spec.role, rows: c.dev });
  if (files.blank) await recordFile(db, runId, 'blank-image', files.blank, {});

  const reasons = c.skipped > 0 ? [{ reason: 'no precise or informative task', n: c.skipped }] : [];
  const result = accounted('prepare', { in: c.rows, out: c.train + c.dev, filtered: c.skipped, failed: 0 }, reasons);
  const outputs: Record<string, string | number> = { trainFile: files.train, rows: c.train, base: base.path, baseModel: base.name, baseOrigin: base.origin, data: files.reused ? 'reused' : 'written' };
  if (files.dev) Object.assign(outputs, { devFile: files.dev, train: c.train, dev: c.dev, blanked: c.blanked, blankImage: path.basename(files.blank!) });
  return {
    prepared: { base: { path: base.path, name: base.name, modelId: baseModelId, origin: base.origin }, trainFile: files.train, trainingSetId, dataSha, rows: c.train },
    result: { ...result, outputs },
  };
}
