// The models an evaluate stage names, as Model rows: a local folder is identified by the hash
// of its files (a retrained folder is a new revision), an endpoint by its URL and model name,
// and `{"backend": "trained"}` is the Model row this run's train stage recorded, whichever way
// it is run: its ONNX export in-process, or its HF export behind a server (vLLM). Either way its
// predictions and metrics point to that row, so the lineage from a score back to the training
// set holds.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import { ZModelRef, type TEvaluateSettings, type TModelRef, type TTrainedRef } from '../../core/spec';
import type { Db, PrismaTypes } from '../db/client';
import { failure } from '../errors';
import type { ModelAccess } from '../deps';
import { apiKeyOf, backendFor } from '../inference/backend-for';
import { trimUrl } from '../inference/openai-backend';
import { folderRevision, upsertModel } from '../model-registry/upsert-model';

type Target = TEvaluateSettings['models'][number];
export interface ResolvedTarget {
  kind: Target['kind'];
  name: string;
  model: TModelRef;
  /** `{"backend": "trained"}`: the train stage's Model row, which predictions belong to */
  trained?: { id: string; revision: string };
}

export interface TrainedModel {
  id: string;
  name: string;
  revision: string;
  /** the HF export (what a vLLM server serves) */
  hf: string | null;
  /** the ONNX export (what the onnx backend runs), when the train stage made one */
  onnx: string | null;
}

/** The model the run's train stage recorded (HF export, and ONNX when exported), or a clear failure. */
export async function trainedModel(db: Db, runId: string): Promise<TrainedModel> {
  const m = await db.model.findFirst({ where: { runId, kind: 'ADAPTED' }, orderBy: { updatedAt: 'desc' }, select: { id: true, name: true, uri: true, format: true, revision: true, meta: true } });
  if (!m) throw failure(ErrorTypes.MissingStageOutput, `evaluate: {"backend": "trained"} needs the model this run's train stage made, but run ${runId} has none (is train in the pipeline, and did it succeed?)`);
  const meta = (m.meta ?? {}) as { hf?: string | null; onnx?: string | null };
  return { id: m.id, name: m.name, revision: m.revision, hf: meta.hf ?? (m.format === 'hf' ? m.uri : null), onnx: meta.onnx ?? (m.format === 'onnx' ? m.uri : null) };
}

const isOnnxFolder = (dir: string) => fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'onnx', 'decoder_model_merged.onnx'));

/**
 * The trained model's ONNX folder: the train stage's export, or one `export-onnx` wrote beside
 * its HF folder afterwards (then recorded on the Model row); else a failure saying how to make it.
 */
async function trainedOnnx(db: Db, runId: string, m: TrainedModel): Promise<string> {
  if (m.onnx) return m.onnx;
  const later = m.hf ? path.join(path.dirname(m.hf), 'onnx') : null;
  if (later && isOnnxFolder(later)) {
    const row = await db.model.findUniqueOrThrow({ where: { id: m.id }, select: { meta: true } });
    await db.model.update({ where: { id: m.id }, data: { meta: { ...((row.meta ?? {}) as Record<string, unknown>), onnx: later } as PrismaTypes.InputJsonValue } });
    return later;
  }
  const config = m.hf ? path.join(path.dirname(m.hf), 'trainer-config.json') : '<train folder>/trainer-config.json';
  throw failure(
    ErrorTypes.MissingStageOutput,
    `evaluate: {"backend": "trained"} without baseUrl runs the ONNX export on the onnx backend, but run ${runId}'s trained model ${m.name} has no ONNX export (train ran with onnx false). ` +
      `Export it with \`python -m adamllm_trainer export-onnx --config ${config}\` and retry evaluate, or retry train with {"onnx": true}, ` +
      `or give the target a baseUrl: an OpenAI-compatible server (vLLM) serving ${m.hf ?? 'its HF export'}`,
  );
}

/**
 * The name a server gives the one model it serves (`GET /v1/models`), or null when it lists
 * several, none, or cannot be asked. A server answers 404 to another name (OpenAI, vLLM,
 * `adamllm serve`), and it names a trained folder by its path or folder name (vLLM without
 * --served-model-name, adamllm serve without --name), never by the name the run gave it.
 */
async function onlyServedModel(baseUrl: string, key?: string): Promise<string | null> {
  try {
    const r = await fetch(`${baseUrl.replace(/\/+$/, '')}/models`, { headers: key ? { authorization: `Bearer ${key}` } : {}, signal: AbortSignal.timeout(10_000) });
    if (!r.ok) return null;
    const data = ((await r.json()) as { data?: { id?: unknown }[] }).data;
    return data?.length === 1 && typeof data[0].id === 'string' ? data[0].id : null;
  } catch {
    return null;
  }
}

async function servedTrained(ref: TTrainedRef & { baseUrl: string }, m: TrainedModel, access: ModelAccess): Promise<TModelRef> {
  const model = ref.model ?? (await onlyServedModel(ref.baseUrl, apiKeyOf(ref.apiKeyEnv, access))) ?? m.name;
  // the openai model's own defaults for what the trained target leaves unset
  const { backend: _b, ...options } = ref;
  return ZModelRef.parse({ ...options, backend: 'openai', model }) as TModelRef;
}

export async function resolveTarget(db: Db, runId: string, t: Target, access: ModelAccess): Promise<ResolvedTarget> {
  if (t.model.backend === 'trained') {
    const m = await trainedModel(db, runId);
    const ref = t.model;
    const model = ref.baseUrl ? await servedTrained({ ...ref, baseUrl: ref.baseUrl }, m, access) : ({ backend: 'onnx', path: await trainedOnnx(db, runId, m) } as const);
    return { kind: t.kind, name: t.name ?? m.name, model, trained: { id: m.id, revision: m.revision } };
  }
  const model = t.model;
  return { kind: t.kind, name: t.name ?? (model.backend === 'onnx' ? path.basename(path.resolve(model.path)) : model.model), model };
}

export async function modelRowFor(db: Db, t: ResolvedTarget, family: string, access: ModelAccess): Promise<string> {
  if (t.trained) return t.trained.id;
  const kind = t.kind === 'base' ? 'BASE' : 'ADAPTED';
  if (t.model.backend === 'onnx') {
    const dir = path.resolve(t.model.path);
    return upsertModel(db, { name: t.name, kind, family, format: 'onnx', uri: dir, revision: await folderRevision('onnx', dir) });
  }
  // The revision is what the server reports about the weights (plus the spec's revision): another
  // model served under the same name is another Model row, and its predictions start afresh.
  const backend = await backendFor(t.model, access);
  return upsertModel(db, { name: t.name, kind, family, format: 'openai', uri: trimUrl(t.model.baseUrl), revision: backend.identity });
}
