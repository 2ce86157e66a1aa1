// The models an evaluate stage names, as Model rows: a local folder is identified by the hash
// of its files (a retrained folder is a new revision), an endpoint by its URL and model name,
// and `{"backend": "trained"}` is the ONNX export of this run's train stage.
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import type { TEvaluateSettings, TModelRef } from '../../core/spec';
import type { Db } from '../db/client';
import { failure } from '../errors';
import { folderHash } from '../store/folder-hash';
import { upsertModel } from './record-scores';

type Target = TEvaluateSettings['models'][number];
export interface ResolvedTarget {
  kind: Target['kind'];
  name: string;
  model: TModelRef;
}

/** The model the run's train stage exported (its ONNX folder), or a clear failure. */
export async function trainedModel(db: Db, runId: string): Promise<{ id: string; name: string; uri: string }> {
  const m = await db.model.findFirst({ where: { runId, kind: 'ADAPTED', format: 'onnx' }, orderBy: { createdAt: 'desc' }, select: { id: true, name: true, uri: true } });
  if (!m) throw failure(ErrorTypes.MissingStageOutput, `evaluate: {"backend": "trained"} needs the train stage's ONNX export, but run ${runId} has none (did train run with onnx: true?)`);
  return m;
}

export async function resolveTarget(db: Db, runId: string, t: Target): Promise<ResolvedTarget> {
  if (t.model.backend === 'trained') {
    const m = await trainedModel(db, runId);
    return { kind: t.kind, name: t.name ?? m.name, model: { backend: 'onnx', path: m.uri } };
  }
  const model = t.model;
  return { kind: t.kind, name: t.name ?? (model.backend === 'onnx' ? path.basename(path.resolve(model.path)) : model.model), model };
}

export async function modelRowFor(db: Db, t: ResolvedTarget, family: string): Promise<string> {
  const kind = t.kind === 'base' ? 'BASE' : 'ADAPTED';
  if (t.model.backend === 'onnx') {
    const dir = path.resolve(t.model.path);
    return upsertModel(db, { name: t.name, kind, family, format: 'onnx', uri: dir, revision: `onnx:${await folderHash(dir)}` });
  }
  const uri = t.model.baseUrl.replace(/\/+$/, '');
  return upsertModel(db, { name: t.name, kind, family, format: 'openai', uri, revision: `openai:${uri}#${t.model.model}` });
}
