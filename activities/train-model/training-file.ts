// The training file of a model-training run, by role: base → ShareGPT chat rows with absolute
// image paths; synthesizer → the method's §5.2 set from the general seed JSON (train and dev
// files, the blank image beside them); judge → [{prompt, completion}] rows as given. Written into
// a folder of the artifact store named by a hash of the source file, its image root and the
// recipe, built beside its final name and renamed into place: a second run over the same data
// finds it and writes nothing. Bad rows are InvalidInput naming the row and field.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { ErrorTypes } from '../../core/errors';
import { seedImagesOf, synthesizerSet, type SeedRow } from '../../core/synth/seed-set';
import type { ModelRole } from '../../core/train-model-spec';
import { canonicalJson } from '../hashing/canonical-json';
import { failure } from '../errors';
import { sha256File, type ArtifactStore } from '../store/artifact-store';

/** Bump when a role's rows are written differently: older folders are then not reused. */
const RECIPE_VERSION = 1;

export interface TrainingFiles {
  dir: string;
  train: string;
  /** synthesizer: the §5.2 dev split */
  dev?: string;
  /** synthesizer: the blank image of the recipe */
  blank?: string;
  counts: { rows: number; train: number; dev: number; skipped: number; blanked: number };
  /** reused: the folder was already there */
  reused: boolean;
}

const ZMessage = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }).passthrough();
const ZChatRow = z.object({ messages: z.array(ZMessage).min(1), images: z.array(z.string().min(1)).optional() }).passthrough();
const ZSeedRow = z
  .object({
    image: z.string().min(1),
    caption: z.string().min(1),
    tasks: z.array(z.object({ type: z.string().min(1), question: z.string().min(1), informative: z.string(), precise: z.string() }).passthrough()),
  })
  .passthrough();
const ZCompletionRow = z.object({ prompt: z.string(), completion: z.string().min(1) }).passthrough();

function rowsOf<T>(rows: unknown, schema: z.ZodType<T>, file: string): T[] {
  if (!Array.isArray(rows)) throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file} must hold a JSON array of rows`);
  if (rows.length === 0) throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file} has no rows`);
  return rows.map((r, i) => {
    const p = schema.safeParse(r);
    if (!p.success) throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file} row ${i}: ${p.error.issues.map((x) => `${x.path.join('.') || '(row)'}: ${x.message}`).join('; ')}`);
    return p.data;
  });
}

/** An image path of a row, absolute and confined to the image root. */
function imageUnder(root: string, p: string, where: string): string {
  const abs = path.resolve(root, p);
  if (abs !== root && !abs.startsWith(root + path.sep)) throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${where}: image ${p} is outside spec.data.imageRoot ${root}`);
  return abs;
}

async function readJson(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8').catch((e: Error) => {
    throw failure(ErrorTypes.InvalidInput, `spec.data.path: cannot read ${file}: ${e.message}`);
  });
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file} is not JSON: ${(e as Error).message}`);
  }
}

type Written = Omit<TrainingFiles, 'dir' | 'reused' | 'train' | 'dev' | 'blank'> & { files: string[] };

async function writeRows(role: ModelRole, source: unknown, file: string, imageRoot: string, tmp: string, dir: string): Promise<Written> {
  if (role === 'judge') {
    const rows = rowsOf(source, ZCompletionRow, file).map((r) => ({ prompt: r.prompt, completion: r.completion }));
    await fs.writeFile(path.join(tmp, 'train.json'), JSON.stringify(rows));
    return { counts: { rows: rows.length, train: rows.length, dev: 0, skipped: 0, blanked: 0 }, files: ['train.json'] };
  }
  if (role === 'base') {
    const rows = rowsOf(source, ZChatRow, file).map((r, i) => ({ messages: r.messages, images: (r.images ?? []).map((p) => imageUnder(imageRoot, p, `row ${i}`)) }));
    await fs.writeFile(path.join(tmp, 'train.json'), JSON.stringify(rows));
    return { counts: { rows: rows.length, train: rows.length, dev: 0, skipped: 0, blanked: 0 }, files: ['train.json'] };
  }
  const seed = rowsOf(source, ZSeedRow, file).map((r, i) => ({ ...r, image: imageUnder(imageRoot, r.image, `row ${i}`) })) as SeedRow[];
  // the rows name the blank image where it will be once the folder is renamed into place
  await fs.writeFile(path.join(tmp, 'blank.jpg'), await sharp({ create: { width: 237, height: 150, channels: 3, background: '#ffffff' } }).jpeg({ quality: 90 }).toBuffer());
  let set;
  try {
    set = synthesizerSet(seedImagesOf(seed), path.join(dir, 'blank.jpg'));
  } catch (e) {
    throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file}: ${(e as Error).message}`);
  }
  if (set.train.length === 0) throw failure(ErrorTypes.InvalidInput, `spec.data.path: ${file}: no image has both a precise and an informative task, the synthesizer set is empty`);
  await fs.writeFile(path.join(tmp, 'train.json'), JSON.stringify(set.train));
  await fs.writeFile(path.join(tmp, 'dev.json'), JSON.stringify(set.dev));
  const counts = { rows: seed.length, train: set.train.length, dev: set.dev.length, skipped: set.skipped, blanked: set.blanked };
  return { counts, files: ['train.json', 'dev.json', 'blank.jpg'] };
}

/** Writes (or finds) the run's training files under `<store>/model-data/<key>/`. */
export async function trainingFiles(store: ArtifactStore, role: ModelRole, data: { path: string; imageRoot?: string }): Promise<TrainingFiles> {
  const file = path.resolve(data.path);
  const imageRoot = path.resolve(data.imageRoot ?? path.dirname(file));
  const sourceSha = await sha256File(file).catch((e: Error) => {
    throw failure(ErrorTypes.InvalidInput, `spec.data.path: cannot read ${file}: ${e.message}`);
  });
  const key = createHash('sha256').update(canonicalJson({ role, recipe: RECIPE_VERSION, sourceSha, imageRoot })).digest('hex').slice(0, 16);
  const dir = path.join(store.root, 'model-data', key);
  const manifest = path.join(dir, 'manifest.json');
  const paths = (files: string[]) => ({
    dir,
    train: path.join(dir, 'train.json'),
    ...(files.includes('dev.json') ? { dev: path.join(dir, 'dev.json'), blank: path.join(dir, 'blank.jpg') } : {}),
  });
  const found = await fs.readFile(manifest, 'utf8').then((t) => JSON.parse(t) as Written, () => null);
  if (found) return { ...paths(found.files), counts: found.counts, reused: true };

  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  try {
    const written = await writeRows(role, await readJson(file), file, imageRoot, tmp, dir);
    await fs.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify({ ...written, role, source: file, sourceSha, imageRoot }, null, 2));
    await fs.rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // another run wrote the same folder meanwhile (same source, same bytes)
      if (!(await fs.stat(manifest).catch(() => null))) throw e;
    });
    return { ...paths(written.files), counts: written.counts, reused: false };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/**
 * The content hash of what the trainer will read: the training file and every image it names
 * (a missing one counts as missing; the trainer leaves its row out with the reason). Part of the
 * training folder's key, so a changed image trains afresh instead of reusing an old model.
 */
export async function dataHash(trainFile: string, heartbeat: (done: number, total: number) => void = () => undefined): Promise<string> {
  const rows = JSON.parse(await fs.readFile(trainFile, 'utf8')) as { images?: string[] }[];
  const images = [...new Set(rows.flatMap((r) => r.images ?? []))].sort();
  const hashes: [string, string][] = [];
  for (const img of images) {
    hashes.push([img, await sha256File(img).catch(() => 'missing')]);
    if (hashes.length % 500 === 0) heartbeat(hashes.length, images.length);
  }
  return createHash('sha256').update(canonicalJson({ train: await sha256File(trainFile), images: hashes })).digest('hex');
}
