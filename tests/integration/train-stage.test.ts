// The train stage through Temporal on a GPU-queue worker process: ingest → … → export → train
// → evaluate (base vs the model this run trained, through the onnx backend) → report; a bad
// trainer setting waits non-retryable and a patched retry goes on, then evaluation through a
// server serving the export records under the trained Model; a worker killed mid-training (a
// torchrun launch of two gloo processes) is replaced, the trainer resumes from its checkpoint
// and no process of the killed launch outlives it; abort stops the trainer with SIGTERM after a checkpoint. The tiny Qwen2-VL is
// random: this checks plumbing and lineage.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { RunProgress } from '../../core/types';
import { harness, tempDir, testEnv, type Harness } from '../helpers/env';
import { pidsWithEnv, runCli, startServe, whenGone } from '../helpers/processes';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';
import { ORPHAN_DEADLINE_S } from '../../activities/trainer/trainer-process';
import { sampleDataset, specFor, startRun, waitForProgress, waitForTrainSteps } from '../helpers/runs';

const tinyVL = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2vl-tiny');
const fixture = (f: string) => path.join(__dirname, '..', 'fixtures', 'benchmarks', f);
let h: Harness;
let artifacts: string;
let gpu: ChildProcess;

beforeAll(async () => {
  h = await harness();
  await h.startWorkers(['workflow', 'cpu', 'remote']);
  artifacts = tempDir('train-artifacts');
  gpu = await startWorkerProcess(artifacts, 'gpu');
});
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

/** A run over a fresh sample dataset that ends with the train stage. */
async function trainRunSpec(count: number, seed: number, settings: Record<string, unknown>) {
  const spec = specFor(await sampleDataset({ count, seed }), { pipeline: ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train'] });
  (spec.stages as Record<string, unknown>).train = train(settings);
  return spec;
}

/** Starts a run and returns once its trainer has logged `steps` optimizer steps. */
async function startAndTrain(spec: Record<string, unknown>, steps: number) {
  const handle = await startRun(h.client, spec);
  const run = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((s) => s.name === 'train' && s.status === 'running'), 120_000);
  await waitForTrainSteps(h.db, run.runId, steps);
  return { handle, run };
}

const train = (o: Record<string, unknown> = {}) => ({
  retry: { maximumAttempts: 3, initialIntervalSeconds: 0.2 },
  heartbeatTimeoutSeconds: 10,
  baseModel: tinyVL,
  learningRate: 1e-3,
  epochs: 4,
  perDeviceBatchSize: 2,
  gradientAccumulationSteps: 2,
  maxLength: 512,
  saveSteps: 2,
  validatePrompts: 1,
  ...o,
});

test('train then evaluate the trained model against its base: loss curve, lineage, report', async () => {
  const m = await sampleDataset({ count: 8, seed: 31 });
  const spec = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report'] });
  const stages = spec.stages as Record<string, unknown>;
  stages.train = train({ name: 'tiny-food' });
  stages.evaluate = {
    retry: { maximumAttempts: 1 },
    maxNewTokens: 8,
    shardSize: 4,
    benchmarks: [{ task: 'VQA_RAD', path: fixture('vqa_rad.parquet') }],
    models: [
      { kind: 'base', model: { backend: 'onnx', path: tinyVL } },
      { kind: 'adapted', model: { backend: 'trained' } },
    ],
  };
  const done: RunProgress = await (await startRun(h.client, spec)).result();
  expect(done.status).toBe('succeeded');
  const tr = done.stages.find((s) => s.name === 'train')!;
  const rows = done.stages.find((s) => s.name === 'compose')!.counts!.out;
  expect(tr.counts).toEqual({ in: rows, out: rows, filtered: 0, failed: 0 });
  const steps = await h.db.trainStep.findMany({ where: { runId: done.runId }, orderBy: { step: 'asc' } });
  const total = Math.ceil(rows / 4) * 4;
  expect(steps.map((s) => s.step)).toEqual([...Array(total).keys()].map((i) => i + 1));
  expect(tr.outputs).toMatchObject({ model: 'tiny-food', steps: total, finalLoss: expect.closeTo(steps.at(-1)!.loss, 5) });
  expect(steps.at(-1)!.loss).toBeLessThan(steps[0].loss);

  // Lineage: adapted ← base (HF folder), trained on this run's training set by this stage attempt.
  const model = await h.db.model.findFirstOrThrow({ where: { runId: done.runId, kind: 'ADAPTED' }, include: { parent: true, trainingSet: true, stageAttempt: { include: { stage: true } } } });
  expect(model).toMatchObject({ name: 'tiny-food', format: 'onnx', family: 'qwen2vl', revision: expect.stringMatching(/^onnx:[0-9a-f]{64}$/) });
  expect(model.parent).toMatchObject({ name: 'qwen2vl-tiny', kind: 'BASE', format: 'hf', uri: tinyVL });
  expect(model.trainingSet).toMatchObject({ runId: done.runId, stage: 'export', kind: 'training-set' });
  expect(model.stageAttempt!.stage).toMatchObject({ runId: done.runId, name: 'train' });
  expect(fs.existsSync(path.join(model.uri, 'onnx', 'decoder_model_merged.onnx'))).toBe(true);
  expect(await h.db.artifact.count({ where: { runId: done.runId, stage: 'train' } })).toBe(2);

  // The evaluation ran the trained export through the onnx backend, beside the base.
  const evals = await h.db.evaluation.findMany({ where: { runId: done.runId }, include: { model: true }, orderBy: { position: 'asc' } });
  expect(evals.map((e) => [e.model.name, e.kind])).toEqual([
    ['qwen2vl-tiny', 'BASE'],
    ['tiny-food', 'ADAPTED'],
  ]);
  expect(evals[1].modelId).toBe(model.id);
  expect(done.stages.find((s) => s.name === 'evaluate')!.counts).toEqual({ in: 10, out: 10, filtered: 0, failed: 0 });
  const md = fs.readFileSync(String(done.stages.find((s) => s.name === 'report')!.outputs!.markdown), 'utf8');
  expect(md).toContain('## Training');
  expect(md).toContain(`steps ${total}/${total}`);
  expect(md).toContain('| qwen2vl-tiny (base) | tiny-food (adapted) | Δ |');
  const { stdout } = await runCli(['runs', 'show', done.runId], { ...process.env, DATABASE_URL: testEnv().databaseUrl });
  expect(stdout).toContain(`training: step ${total}/${total}, loss ${steps[0].loss.toFixed(4)} → ${steps.at(-1)!.loss.toFixed(4)}`);
  expect(stdout).toContain(`tiny-food (onnx, from qwen2vl-tiny) at ${model.uri}`);

  // The adapted model serves the model stages of a later run, here as the synthesizer.
  const next = specFor(await sampleDataset({ count: 3, seed: 35 }), { pipeline: ['ingest', 'synthesize'] });
  Object.assign((next.stages as Record<string, Record<string, unknown>>).synthesize, { synthesizer: 'model', model: { backend: 'onnx', path: model.uri }, maxNewTokens: 16 });
  const synth: RunProgress = await (await startRun(h.client, next)).result();
  expect(synth.status).toBe('succeeded');
  const tasks = await h.db.synthTask.findMany({ where: { runId: synth.runId } });
  expect(tasks).toHaveLength(3);
  for (const t of tasks) expect(t.synthesizerVersion).toBe(model.revision);
}, 400_000);

test('a bad trainer setting fails non-retryably naming it; a patched retry trains without redoing export; evaluation through a server serving the export is the trained model\'s', async () => {
  const spec = await trainRunSpec(4, 32, { maxLength: 16, onnx: true });
  // its set names images relative to the image root: the trainer must be told that root
  (spec.stages as Record<string, unknown>).export = { imagePaths: 'relative' };
  // the adapted model behind an OpenAI-compatible server that is not up yet: evaluate waits for it
  spec.pipeline = [...(spec.pipeline as string[]), 'evaluate'];
  const served = (baseUrl: string) => [{ kind: 'adapted', model: { backend: 'trained', baseUrl, maxRetries: 0 } }];
  (spec.stages as Record<string, unknown>).evaluate = {
    retry: { maximumAttempts: 1 },
    maxNewTokens: 4,
    benchmarks: [{ task: 'VQA_RAD', path: fixture('vqa_rad.parquet'), limit: 2 }],
    models: served('http://127.0.0.1:9/v1'),
  };
  const handle = await startRun(h.client, spec);
  const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((s) => s.name === 'train' && s.status === 'failed_waiting'), 120_000);
  const st = waiting.stages.find((s) => s.name === 'train')!;
  expect(st.error).toMatchObject({ type: 'InvalidInput', message: expect.stringMatching(/no example left to train on .*max_length 16/) });
  const attempts = await h.db.stageAttempt.findMany({ where: { stage: { runId: waiting.runId, name: 'train' } } });
  expect(attempts).toHaveLength(1); // not retried: a bad setting stays bad
  await handle.signal('retryStage', { stage: 'train', settings: { maxLength: 512, maxSteps: 2 } });
  await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((s) => s.name === 'evaluate' && s.status === 'failed_waiting'), 240_000);
  const exp = await h.db.stage.findFirstOrThrow({ where: { runId: waiting.runId, name: 'export' } });
  expect(exp.attempts).toBe(1);
  const set = await h.db.artifact.findFirstOrThrow({ where: { runId: waiting.runId, stage: 'export', kind: 'training-set' } });
  const rows = JSON.parse(fs.readFileSync(set.uri.replace(/^file:\/\//, ''), 'utf8')) as { images: string[] }[];
  expect(rows.flatMap((r) => r.images).every((p) => !path.isAbsolute(p))).toBe(true);

  // the operator serves the export (vLLM would serve …/hf; adamllm serve runs the ONNX twin) and points evaluate at it
  const model = await h.db.model.findFirstOrThrow({ where: { runId: waiting.runId, kind: 'ADAPTED' } });
  const serve = await startServe(model.uri);
  try {
    await handle.signal('retryStage', { stage: 'evaluate', settings: { models: served(serve.baseUrl) } });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.find((s) => s.name === 'train')!.outputs).toMatchObject({ steps: 2 });
    expect(done.stages.find((s) => s.name === 'evaluate')!.counts).toEqual({ in: 2, out: 2, filtered: 0, failed: 0 });
  } finally {
    serve.stop();
  }
  // Lineage: the evaluation, its predictions and metrics belong to the train stage's Model row, not to an endpoint's
  const evals = await h.db.evaluation.findMany({ where: { runId: waiting.runId } });
  expect(evals.map((e) => [e.modelId, e.kind])).toEqual([[model.id, 'ADAPTED']]);
  const preds = await h.db.prediction.findMany({ where: { runId: waiting.runId } });
  expect(preds).toHaveLength(2);
  expect(new Set(preds.map((p) => p.modelId))).toEqual(new Set([model.id]));
  const metrics = await h.db.metric.findMany({ where: { runId: waiting.runId } });
  expect(metrics.length).toBeGreaterThan(0);
  expect(new Set(metrics.map((m) => m.modelId))).toEqual(new Set([model.id]));
  expect(await h.db.model.count({ where: { uri: serve.baseUrl.replace(/\/+$/, '') } })).toBe(0);
}, 400_000);

test('a GPU worker killed mid-training (two trainer processes under torchrun): the orphaned trainer checkpoints and exits, another worker resumes with every step recorded; nothing of the killed launch outlives it', async () => {
  // two gloo processes (the distributed path on CPU), global batch 2 × 2 × 2 = 8: 60 epochs of
  // 1 step, long enough that the kill lands mid-training
  const spec = await trainRunSpec(8, 33, { epochs: 60, saveSteps: 5, onnx: false, gpus: 2 });
  const { handle, run } = await startAndTrain(spec, 5);
  // the killed worker's launch: the guard, torchrun, its ranks and their DataLoader workers all
  // carry the worker's pid in their environment (ADAMLLM_PARENT_PID)
  const launch = `ADAMLLM_PARENT_PID=${gpu.pid}`;
  expect(pidsWithEnv(launch).length).toBeGreaterThanOrEqual(4);
  gpu.kill('SIGKILL');
  const killedAt = Date.now();
  gpu = await startWorkerProcess(artifacts, 'gpu');
  const done: RunProgress = await handle.result();
  expect(done.status).toBe('succeeded');
  // Once the retry is done, nothing of the killed launch is left (its ranks used to hang in the
  // stop checkpoint's barrier for torchrun's 900 s shutdown timeout); at the latest, the guard
  // SIGKILLs them ORPHAN_DEADLINE_S after the worker's death
  const survivors = await whenGone(launch, Math.max(0, killedAt + (ORPHAN_DEADLINE_S + 5) * 1000 - Date.now()));
  for (const p of survivors) {
    try {
      process.kill(p, 'SIGKILL'); // not left for the next tests
    } catch {
      // gone meanwhile
    }
  }
  expect(survivors).toEqual([]);
  const model = await h.db.model.findFirstOrThrow({ where: { runId: done.runId, kind: 'ADAPTED' } });
  const meta = model.meta as { startStep: number; resumedFrom: string | null; steps: number };
  expect(meta.startStep).toBeGreaterThanOrEqual(5); // at least the first checkpoint (saveSteps 5)
  expect(meta.resumedFrom).toMatch(/checkpoints\/step-\d{7}$/);
  expect(meta.steps).toBe(Math.ceil(done.stages.find((s) => s.name === 'compose')!.counts!.out / 8) * 60);
  const steps = await h.db.trainStep.findMany({ where: { runId: done.runId }, orderBy: { step: 'asc' } });
  expect(steps.map((s) => s.step)).toEqual([...Array(meta.steps).keys()].map((i) => i + 1));
  expect(new Set(steps.map((s) => s.worldSize))).toEqual(new Set([2]));
  expect(steps.every((s) => s.peakMemoryBytes !== null && s.peakMemoryBytes > 0n && s.paddingWaste !== null)).toBe(true);
}, 300_000);

test('abort during training: the trainer gets SIGTERM and leaves a checkpoint of the step it stopped at', async () => {
  // 1,000 epochs of 2 steps: far longer than the heartbeat throttle that delays the cancel
  const spec = await trainRunSpec(8, 34, { epochs: 1000, saveSteps: 100000, onnx: false });
  const { handle, run } = await startAndTrain(spec, 3);
  await handle.signal('abort', { reason: 'test' });
  const done: RunProgress = await handle.result();
  expect(done.status).toBe('aborted');
  // saveSteps never fires and training is far from its end: the only checkpoint is the one SIGTERM wrote
  let ckpts: string[] = [];
  for (let i = 0; i < 300 && ckpts.length === 0; i++) {
    const dirs = fs.readdirSync(path.join(artifacts, 'runs', run.runId, 'train'));
    // complete checkpoints only (a folder being written is still named .tmp-step-…)
    ckpts = dirs.flatMap((d) => {
      const folder = path.join(artifacts, 'runs', run.runId, 'train', d, 'checkpoints');
      return fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => f.startsWith('step-')) : [];
    });
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(ckpts).toHaveLength(1);
  const last = await h.db.trainStep.findFirstOrThrow({ where: { runId: run.runId }, orderBy: { step: 'desc' } });
  const at = Number(ckpts[0].slice('step-'.length));
  expect(at).toBeGreaterThanOrEqual(last.step);
  expect(at).toBeLessThan(last.totalSteps);
}, 300_000);
