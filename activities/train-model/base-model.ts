// The model a training run starts from: a given Hugging Face folder, or a new Qwen2-VL made by
// `python -m adamllm_trainer init-model` and cached in the artifact store under a content hash
// of its arguments, its corpus files and the init-model code, so a second run with the same
// spec reuses it at once. The folder is built beside its final name and renamed into place, so
// a crash never leaves a half-made model where a later run would take it as finished.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import type { TBaseModel, TInitModel } from '../../core/train-model-spec';
import { projectRoot } from '../project-root';
import { canonicalJson } from '../hashing/canonical-json';
import { failure } from '../errors';
import type { ArtifactStore } from '../store/artifact-store';
import { sha256File } from '../store/artifact-store';
import { TRAINER_EXIT } from '../trainer/trainer-events';
import { runTrainer } from '../trainer/trainer-process';

export interface ResolvedBase {
  /** the Hugging Face folder (absolute) */
  path: string;
  /** the Model row's name: the folder's name, or init-<key> for a made one */
  name: string;
  /** given: a folder the spec named; made: init-model ran now; cached: an earlier run made it */
  origin: 'given' | 'made' | 'cached';
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

/** The init-model code: a change to it makes other models from the same arguments. */
const initCode = () => path.join(projectRoot(), 'trainer', 'adamllm_trainer', 'init_model.py');

/** The cache key of an init-model output: its arguments, its corpus files' contents, the code. */
export async function initKey(init: TInitModel, corpus: string[]): Promise<string> {
  // heads only when not the default 4, so earlier arguments hash as before (the key still moves
  // with init_model.py's code, as for any change to it)
  const args = { vocabSize: init.vocabSize, hidden: init.hidden, ...(init.heads === 4 ? {} : { heads: init.heads }), layers: init.layers, visionDepth: init.visionDepth, seed: init.seed };
  const files = await Promise.all(corpus.map((f) => sha256File(f)));
  const code = await sha256File(initCode());
  return createHash('sha256').update(canonicalJson({ args, corpus: files, code })).digest('hex').slice(0, 16);
}

interface BaseOptions {
  signal: AbortSignal;
  heartbeat: () => void;
  /** the trainer's interpreter (ActivityDeps.python) */
  python?: string;
}

async function checkCorpus(corpus: string[]): Promise<string[]> {
  const files = corpus.map((f) => path.resolve(f));
  for (const [i, f] of files.entries()) {
    const st = await fs.stat(f).catch(() => null);
    if (!st?.isFile()) throw failure(ErrorTypes.InvalidInput, `spec.base.init.corpus.${i}: no such file: ${f}`);
  }
  return files;
}

async function makeModel(init: TInitModel, corpus: string[], dir: string, o: BaseOptions): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const args = ['init-model', '--corpus', ...corpus, '--out', tmp];
  args.push('--vocab-size', String(init.vocabSize), '--hidden', String(init.hidden), '--heads', String(init.heads), '--layers', String(init.layers), '--vision-depth', String(init.visionDepth), '--seed', String(init.seed));
  const ticker = setInterval(o.heartbeat, 5000);
  try {
    const r = await runTrainer(args, { signal: o.signal, python: o.python, env: { CUDA_VISIBLE_DEVICES: '' } });
    if (o.signal.aborted) throw new Error('cancelled');
    if (r.code !== TRAINER_EXIT.done) {
      const err = r.events.filter((e) => e.event === 'error').at(-1);
      const why = err ? String(err.message) : `init-model exited with code ${r.code ?? r.signal}:\n${r.stderrTail}`;
      throw failure(r.code === TRAINER_EXIT.config ? ErrorTypes.InvalidInput : ErrorTypes.TrainerFailed, `spec.base.init: ${why}`);
    }
    await fs.rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
      // another run made the same model meanwhile: the same arguments give the same files
      if (!(await exists(path.join(dir, 'config.json')))) throw e;
    });
  } finally {
    clearInterval(ticker);
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** The base model's folder, made (or taken from the cache) when the spec asks for a new one. Throws InvalidInput for a missing folder or corpus file. */
export async function resolveBase(store: ArtifactStore, base: TBaseModel, o: BaseOptions): Promise<ResolvedBase> {
  if (base.path !== undefined) {
    const dir = path.resolve(base.path);
    if (!(await exists(path.join(dir, 'config.json')))) throw failure(ErrorTypes.InvalidInput, `spec.base.path: ${dir} is not a Hugging Face model folder (no config.json)`);
    return { path: dir, name: path.basename(dir), origin: 'given' };
  }
  const init = base.init!;
  const corpus = await checkCorpus(init.corpus);
  const key = await initKey(init, corpus);
  const dir = path.join(store.root, 'models', 'init', key);
  const name = `init-${key}`;
  if (await exists(path.join(dir, 'config.json'))) return { path: dir, name, origin: 'cached' };
  await fs.mkdir(path.dirname(dir), { recursive: true });
  await makeModel(init, corpus, dir, o);
  return { path: dir, name, origin: 'made' };
}
