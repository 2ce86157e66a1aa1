// The model registry: Model rows, one per (name, revision), upserted by whoever meets a model
// (the train stage and trainModel for base and trained models, the evaluate stage for its
// targets, `adamllm score` for a predictions file). A folder model's revision is its format and
// the content hash of the folder (folder-hash.ts), so other weights under the same name are
// another row, and the same weights met twice are one.
import type { Db } from '../db/client';
import { folderHash } from './folder-hash';

export interface ModelRef {
  name: string;
  kind: 'BASE' | 'ADAPTED' | 'SYNTHESIZER' | 'JUDGE';
  family: string;
  format: string;
  uri: string;
  revision: string;
}

/** The revision of a model folder of this format whose content hash is known: `onnx:<sha256>`, `hf:<sha256>`. */
export function modelRevision(format: 'hf' | 'onnx', sha256: string): string {
  return `${format}:${sha256}`;
}

/** The revision of a model folder, hashing it (streamed, any size). */
export async function folderRevision(format: 'hf' | 'onnx', dir: string): Promise<string> {
  return modelRevision(format, await folderHash(dir));
}

/** Upserts the Model row of (name, revision); returns its id. */
export async function upsertModel(db: Db, m: ModelRef): Promise<string> {
  const row = await db.model.upsert({
    where: { name_revision: { name: m.name, revision: m.revision } },
    create: m,
    update: { kind: m.kind, family: m.family, format: m.format, uri: m.uri },
    select: { id: true },
  });
  return row.id;
}

/** The BASE Model row of a Hugging Face folder (Qwen2-VL family) a training starts from; returns its id and the folder's content hash. */
export async function upsertBaseModel(db: Db, name: string, folder: string): Promise<{ id: string; sha256: string }> {
  const sha256 = await folderHash(folder);
  const id = await upsertModel(db, { name, kind: 'BASE', family: 'qwen2vl', format: 'hf', uri: folder, revision: modelRevision('hf', sha256) });
  return { id, sha256 };
}
