// The train stage (GPU queue): one shard that runs the Python trainer on the training set the
// export stage wrote (torchrun over the worker's GPUs when the launch has several processes),
// turns its JSON lines into heartbeats and TrainStep rows, sends SIGTERM on cancellation (the
// trainer checkpoints), resumes on retry from the checkpoint named in the last heartbeat, and
// records the adapted Model with its lineage (base model, training-set artifact, run, stage
// attempt) and the exported folders as artifacts.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import type { PrismaTypes } from '../db/client';
import { failure } from '../errors';
import { upsertModel } from '../evaluate/record-scores';
import { folderHash } from '../store/folder-hash';
import type { StageContext, StageImplementation } from '../stage/context';
import { accounted } from '../stage/counts';
import { planLaunch, type GpuLease } from './gpus';
import { exportsOnnx, trainerConfig, trainingKey } from './trainer-config';
import { exitFailure, filteredOf, stepRow } from './trainer-events';
import { runTrainer, type TrainerEvent } from './trainer-process';

type Ctx = StageContext<'train'>;

async function trainingSet(ctx: Ctx) {
  const a = await ctx.db.artifact.findUnique({ where: { runId_stage_kind: { runId: ctx.runId, stage: 'export', kind: 'training-set' } } });
  if (!a) throw failure(ErrorTypes.MissingStageOutput, `train needs the export stage's training set, but run ${ctx.runId} has none`);
  return { ...a, path: a.uri.replace(/^file:\/\//, '') };
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const f of await fs.readdir(dir, { recursive: true })) {
    const st = await fs.stat(path.join(dir, String(f)));
    if (st.isFile()) total += st.size;
  }
  return total;
}

async function recordModel(ctx: Ctx, done: TrainerEvent, start: TrainerEvent | undefined, data: TrainerEvent | undefined, set: Awaited<ReturnType<typeof trainingSet>>) {
  const s = ctx.settings;
  const base = path.resolve(s.baseModel);
  const baseId = await upsertModel(ctx.db, { name: path.basename(base), kind: 'BASE', family: 'qwen2vl', format: 'hf', uri: base, revision: `hf:${await folderHash(base)}` });
  const attempt = await ctx.db.stageAttempt.findFirst({ where: { stage: { runId: ctx.runId, name: 'train' }, attempt: ctx.attempt }, select: { id: true } });
  const onnxDir = typeof done.onnx === 'string' ? done.onnx : undefined;
  const hfDir = String(done.hf);
  // each exported folder hashed once: the model's revision and its artifact's sha256
  const hashes = new Map<string, string>();
  for (const folder of [hfDir, onnxDir]) if (folder) hashes.set(folder, await folderHash(folder));
  const dir = onnxDir ?? hfDir;
  const format = onnxDir ? 'onnx' : 'hf';
  const name = s.name ?? `${path.basename(base)}-${ctx.spec.domain}`;
  const model = await upsertModel(ctx.db, { name, kind: 'ADAPTED', family: 'qwen2vl', format, uri: dir, revision: `${format}:${hashes.get(dir)}` });
  const meta = {
    hf: hfDir,
    onnx: onnxDir ?? null,
    steps: done.step,
    firstLoss: done.first_loss,
    finalLoss: done.final_loss,
    validation: done.validation ?? null,
    examples: data?.examples ?? null,
    dropped: data?.dropped ?? null,
    filtered: filteredOf(data) as unknown as PrismaTypes.InputJsonValue,
    worldSize: start?.world_size ?? 1,
    finetuning: s.finetuning,
    // where the successful attempt began: a resumed one names its checkpoint
    startStep: start?.step ?? 0,
    resumedFrom: start?.resumed_from ?? null,
  } as PrismaTypes.InputJsonValue;
  await ctx.db.model.update({ where: { id: model }, data: { parentId: baseId, runId: ctx.runId, trainingSetId: set.id, stageAttemptId: attempt?.id ?? null, meta } });
  for (const [kind, folder] of [['model-hf', hfDir], ['model-onnx', onnxDir]] as const) {
    if (!folder) continue;
    const data = { uri: `file://${folder}`, sha256: hashes.get(folder)!, bytes: BigInt(await folderSize(folder)), meta: { model: name } };
    await ctx.db.artifact.upsert({ where: { runId_stage_kind: { runId: ctx.runId, stage: 'train', kind } }, create: { runId: ctx.runId, stage: 'train', kind, ...data }, update: data });
  }
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
    const owned = ctx.gpus?.ids ?? [];
    const launch = planLaunch(s, owned);
    const root = ctx.store.runDir(ctx.runId, 'train');
    const paths = { trainFile: set.path, cacheDir: path.join(ctx.store.root, 'cache', 'tokenized'), onnx: exportsOnnx(ctx.spec) };
    const outputDir = path.join(root, trainingKey(trainerConfig(s, { ...paths, outputDir: '' }), set.sha256));
    await fs.mkdir(outputDir, { recursive: true });
    const configFile = path.join(outputDir, 'trainer-config.json');
    await fs.writeFile(configFile, JSON.stringify(trainerConfig(s, { ...paths, outputDir }), null, 2));

    // The checkpoint the last heartbeat named, when it is still there and belongs to this
    // folder (a patched retry that changes the run's shape trains in another); else the trainer takes its newest.
    const resume = (ctx.resumeDetails as { checkpoint?: string } | undefined)?.checkpoint;
    const args = ['train', '--config', configFile];
    if (resume && resume.startsWith(outputDir + path.sep) && (await fs.stat(path.join(resume, 'meta.json')).catch(() => null))) args.push('--resume-from', resume);

    let details: { phase: string; step?: number; totalSteps?: number; checkpoint?: string; loss?: number; worldSize: number } = { phase: 'starting', checkpoint: resume, worldSize: launch.worldSize };
    const ticker = setInterval(() => ctx.heartbeat(details), 5000); // model loading, export and waiting for GPUs are quiet
    let writes = Promise.resolve();
    let data: TrainerEvent | undefined;
    let lease: GpuLease | undefined;
    try {
      if (launch.gpus > 0) {
        details = { ...details, phase: 'waiting for GPUs' };
        lease = await ctx.gpus!.acquire(launch.gpus, ctx.cancelled);
        details = { ...details, phase: 'starting' };
      }
      const r = await runTrainer(args, {
        signal: ctx.cancelled,
        worldSize: launch.worldSize,
        // this attempt's GPUs only; none on a CPU run, so device auto means cpu there
        env: { CUDA_VISIBLE_DEVICES: lease ? lease.ids.join(',') : '', ADAMLLM_PARENT_PID: String(process.pid) },
        onEvent: (e) => {
          if (e.event === 'data') data = e;
          if (e.event === 'start') details = { ...details, phase: 'training', step: Number(e.step), totalSteps: Number(e.total_steps) };
          if (e.event === 'checkpoint') details = { ...details, checkpoint: String(e.path) };
          if (e.event === 'step') {
            details = { ...details, step: Number(e.step), loss: Number(e.loss) };
            const row = { attempt: ctx.attempt, ...stepRow(e) };
            const key = { runId: ctx.runId, step: Number(e.step) };
            writes = writes.then(async () => {
              await ctx.db.trainStep.upsert({ where: { runId_step: key }, create: { ...key, ...row }, update: row });
            });
          }
          if (e.event === 'stopped' || e.event === 'done') details = { ...details, phase: e.event };
          if (e.event === 'export') details = { ...details, phase: 'exported' };
          ctx.heartbeat(details);
        },
      });
      await writes;
      if (ctx.cancelled.aborted) throw new Error('cancelled');
      if (r.code !== 0) throw exitFailure(r.code, r.signal, r.events, r.stderrTail);
      const done = r.events.find((e) => e.event === 'done');
      if (!done) throw failure(ErrorTypes.TrainerFailed, 'train: the trainer exited without a done event');
      await recordModel(ctx, done, r.events.find((e) => e.event === 'start'), data, set);
      return { processed: 1 };
    } finally {
      clearInterval(ticker);
      lease?.release();
    }
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
