// The models an evaluate stage names, as Model rows: a local folder is identified by the hash
// of its files (a retrained folder is a new revision), an endpoint by its URL and model name.
import path from 'node:path';
import type { TEvaluateSettings } from '../../core/spec';
import { folderHash } from '../models/onnx-backend';
import { upsertModel } from './record-scores';

type Target = TEvaluateSettings['models'][number];

export function targetName(t: Target): string {
  return t.name ?? (t.model.backend === 'onnx' ? path.basename(path.resolve(t.model.path)) : t.model.model);
}

export async function modelRowFor(db: Parameters<typeof upsertModel>[0], t: Target, family: string): Promise<string> {
  const kind = t.kind === 'base' ? 'BASE' : 'ADAPTED';
  if (t.model.backend === 'onnx') {
    const dir = path.resolve(t.model.path);
    return upsertModel(db, { name: targetName(t), kind, family, format: 'onnx', uri: dir, revision: `onnx:${await folderHash(dir)}` });
  }
  const uri = t.model.baseUrl.replace(/\/+$/, '');
  return upsertModel(db, { name: targetName(t), kind, family, format: 'openai', uri, revision: `openai:${uri}#${t.model.model}` });
}
