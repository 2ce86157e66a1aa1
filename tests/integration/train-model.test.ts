// trainSynthesizer through Temporal (the workflow and CPU workers in-process, the GPU queue in a
// worker process): a new tiny Qwen2-VL made by init-model from the world's corpus, trained on a
// small world's general seed tasks turned into the §5.2 set, exported to ONNX and registered as
// a SYNTHESIZER model whose folder the onnx backend loads with the synthesize stage's prompt.
// A second run of the same spec reuses everything: no init-model, no training, the same model.
// Then: a general base model (role base, chat rows) from the same cached init-model base; a bad
// trainer setting waits for the operator and a patched retryStage goes on.
import fs from 'node:fs';
import path from 'node:path';
import { TASK_QUEUES } from '../../core/stages';
import { seedImagesOf, synthesizerSet, type SeedRow } from '../../core/synth/seed-set';
import type { TrainModelProgress, TrainModelResult } from '../../core/train-model-spec';
import { writeWorldTrainingFiles, type WorldTrainingFiles } from '../../demo/world/training-sets';
import { generateWorld, type World } from '../../demo/world/world';
import { harness, tempDir, testEnv, type Harness } from '../helpers/env';
import { runCli, runTs } from '../helpers/processes';
import { uniqueId, waitForTrainSteps } from '../helpers/runs';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';

let h: Harness;
let world: World;
let corpus: string;
let files: WorldTrainingFiles;

beforeAll(async () => {
  h = await harness();
  await h.startWorkers(['workflow', 'cpu']);
  await startWorkerProcess(tempDir('train-model-gpu'), 'gpu');
  world = await generateWorld({ dir: path.join(tempDir('world'), 'w'), seed: 5, generalImages: 12, domainImages: 4, benchmarkRows: 4, side: 56 });
  files = await writeWorldTrainingFiles(world, tempDir('world-files'));
  corpus = files.corpus;
}, 120_000);
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

const spec = (name: string, train: Record<string, unknown> = {}) => ({
  version: 1,
  name,
  base: { init: { corpus: [corpus], vocabSize: 600, hidden: 32, layers: 1, visionDepth: 1, seed: 0 } },
  data: { path: world.paths.generalSeed, imageRoot: world.paths.generalImageRoot },
  train: {
    retry: { maximumAttempts: 2, initialIntervalSeconds: 0.2 },
    heartbeatTimeoutSeconds: 20,
    learningRate: 1e-3,
    maxSteps: 3,
    perDeviceBatchSize: 2,
    gradientAccumulationSteps: 1,
    maxLength: 512,
    saveSteps: 2,
    validatePrompts: 1,
    dataloaderWorkers: 0,
    tokenizeWorkers: 1,
    ...train,
  },
});

const start = (type: string, input: unknown, workflowId = uniqueId(type)) => h.client.workflow.start(type, { taskQueue: TASK_QUEUES.workflow, workflowId, args: [input] });

test('trainSynthesizer: init-model base, the §5.2 set, a SYNTHESIZER model with lineage whose ONNX folder the onnx backend runs; a second run reuses it', async () => {
  const name = uniqueId('synth');
  const t0 = Date.now();
  const first = (await (await start('trainSynthesizer', spec(name))).result()) as TrainModelResult;
  const firstMs = Date.now() - t0;
  expect(first).toMatchObject({ status: 'succeeded', name, role: 'synthesizer', steps: 3, reused: false });
  expect(Number.isFinite(first.finalLoss)).toBe(true);

  // the Model row: kind, format, folder, revision, lineage
  const model = await h.db.model.findUniqueOrThrow({ where: { id: first.modelId }, include: { parent: true, trainingSet: true } });
  expect(model).toMatchObject({ kind: 'SYNTHESIZER', family: 'qwen2vl', format: 'onnx', uri: first.onnx, runId: first.runId });
  expect(model.revision).toMatch(/^onnx:[0-9a-f]{64}$/);
  expect(model.parent).toMatchObject({ kind: 'BASE', format: 'hf', name: expect.stringMatching(/^init-[0-9a-f]{16}$/) });
  expect(model.trainingSet).toMatchObject({ runId: first.runId, stage: 'prepare', kind: 'training-set' });
  expect(model.meta).toMatchObject({ role: 'synthesizer', sequence: 'synthesizer', steps: 3, hf: first.hf, onnx: first.onnx });
  for (const f of ['config.json', 'onnx/decoder_model_merged.onnx', 'onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx']) expect(fs.existsSync(path.join(first.onnx!, f))).toBe(true);
  expect(await h.db.trainStep.count({ where: { runId: first.runId } })).toBe(3);

  // the §5.2 set: the recipe's counts on the world's seed, written with the blank image
  const seed = JSON.parse(fs.readFileSync(world.paths.generalSeed, 'utf8')) as SeedRow[];
  const expected = synthesizerSet(seedImagesOf(seed), 'blank.jpg');
  const stages = await h.db.stage.findMany({ where: { runId: first.runId }, orderBy: { position: 'asc' } });
  expect(stages.map((s) => [s.name, s.status])).toEqual([['prepare', 'SUCCEEDED'], ['train', 'SUCCEEDED']]);
  expect(stages[0]).toMatchObject({ countIn: 12, countOut: expected.train.length + expected.dev.length, countFiltered: expected.skipped, countFailed: 0 });
  expect(stages[0].outputs).toMatchObject({ train: expected.train.length, dev: expected.dev.length, blanked: expected.blanked, baseOrigin: 'made' });
  const train = JSON.parse(fs.readFileSync(model.trainingSet!.uri.replace('file://', ''), 'utf8')) as { images: string[] }[];
  expect(train).toHaveLength(expected.train.length);
  const blank = (stages[0].outputs as { devFile: string }).devFile.replace(/dev\.json$/, 'blank.jpg');
  expect(fs.existsSync(blank)).toBe(true);
  expect([...train, ...(JSON.parse(fs.readFileSync(blank.replace(/blank\.jpg$/, 'dev.json'), 'utf8')) as { images: string[] }[])].filter((r) => r.images[0] === blank)).toHaveLength(expected.blanked);
  expect(stages[1]).toMatchObject({ countIn: expected.train.length, countOut: expected.train.length, countFiltered: 0 });
  const run = await h.db.run.findUniqueOrThrow({ where: { id: first.runId } });
  expect(run).toMatchObject({ domain: 'model:synthesizer', status: 'SUCCEEDED' });

  // the synthesize stage's backend loads the folder and answers its prompt
  const caption = seed[0].caption;
  const { stdout } = await runTs('tests/helpers/synthesizer-onnx-run.ts', [first.onnx!, path.join(world.paths.generalImageRoot, seed[0].image), caption]);
  const ran = JSON.parse(stdout) as { identity: string; out: { text: string } };
  expect(typeof ran.out.text).toBe('string');

  // the same spec again: everything reused, the same model, no training
  const t1 = Date.now();
  const second = (await (await start('trainSynthesizer', spec(name))).result()) as TrainModelResult;
  const secondMs = Date.now() - t1;
  expect(second).toMatchObject({ status: 'succeeded', modelId: first.modelId, onnx: first.onnx, steps: 3, reused: true });
  expect(second.runId).not.toBe(first.runId);
  expect(await h.db.trainStep.count({ where: { runId: second.runId } })).toBe(0);
  const again = await h.db.stage.findMany({ where: { runId: second.runId }, orderBy: { position: 'asc' } });
  expect(again[0].outputs).toMatchObject({ baseOrigin: 'cached', data: 'reused' });
  expect(again[1].outputs).toMatchObject({ reused: 1, modelId: first.modelId });
  expect(secondMs).toBeLessThan(15_000);

  // the history from Postgres: both steps and the model, also for the run that reused it
  const show = (id: string) => runCli(['runs', 'show', id], { ...process.env, DATABASE_URL: testEnv().databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' }).then((r) => r.stdout);
  const shown = await show(first.runId);
  expect(shown).toContain('domain model:synthesizer  status succeeded');
  expect(shown).toMatch(/prepare\W+succeeded\W+1\W+12\W+12\W/);
  expect(shown).toMatch(/training: step 3\/3, .*\(onnx, from init-[0-9a-f]{16}\)/);
  expect(shown).toContain(`model: ${name} (synthesizer, id ${first.modelId}), 3 steps`);
  expect(shown).toContain('prepare/training-set: file://');
  expect(await show(second.runId)).toContain(`model: ${name} (synthesizer, id ${first.modelId}), reused a finished training (3 steps`);
  process.stdout.write(`trainSynthesizer: first run ${firstMs} ms, second (reused) ${secondMs} ms\n`);
}, 300_000);

test('trainModel refuses a bad spec naming the field; trainSynthesizer refuses another role', async () => {
  const bad = spec('x');
  (bad.base.init as Record<string, unknown>).hidden = 100;
  await expect((await start('trainModel', { ...bad, role: 'synthesizer' })).result()).rejects.toMatchObject({ cause: { type: 'InvalidRunSpec', message: expect.stringContaining('spec.base.init.hidden') } });
  await expect((await start('trainSynthesizer', { ...spec('x'), role: 'judge' })).result()).rejects.toMatchObject({ cause: { message: expect.stringContaining('spec.role') } });
});

test('trainModel role base: chat rows with their images, a BASE model whose parent is the cached init-model base', async () => {
  const name = uniqueId('base');
  const input = { ...spec(name, { maxSteps: 2 }), role: 'base', data: { path: files.base, imageRoot: files.imageRoot } };
  const r = (await (await start('trainModel', input)).result()) as TrainModelResult;
  expect(r).toMatchObject({ status: 'succeeded', role: 'base', steps: 2, reused: false });
  const model = await h.db.model.findUniqueOrThrow({ where: { id: r.modelId }, include: { parent: true } });
  expect(model).toMatchObject({ kind: 'BASE', format: 'onnx', uri: r.onnx, meta: expect.objectContaining({ sequence: 'chat' }) });
  expect(model.parent!.name).toMatch(/^init-[0-9a-f]{16}$/);
  const prepare = await h.db.stage.findUniqueOrThrow({ where: { runId_name: { runId: r.runId, name: 'prepare' } } });
  expect(prepare).toMatchObject({ countIn: 12, countOut: 12, outputs: expect.objectContaining({ baseOrigin: 'cached' }) });
  const rows = JSON.parse(fs.readFileSync((prepare.outputs as { trainFile: string }).trainFile, 'utf8')) as { images: string[] }[];
  for (const row of rows) expect(path.isAbsolute(row.images[0]) && fs.existsSync(row.images[0])).toBe(true);
  expect((await h.db.run.findUniqueOrThrow({ where: { id: r.runId } })).domain).toBe('model:base');
}, 300_000);

test('a bad trainer setting waits for the operator after prepare; retryStage with a settings patch trains', async () => {
  const name = uniqueId('synth-bad');
  // an attention kernel that is not installed: the trainer refuses it up front (exit 2, InvalidInput)
  const handle = await start('trainSynthesizer', spec(name, { attnImplementation: 'flash_attention_2', maxSteps: 2 }));
  const deadline = Date.now() + 120_000;
  let p: TrainModelProgress | undefined;
  while (Date.now() < deadline) {
    p = await handle.query<TrainModelProgress>('progress').catch(() => undefined);
    if (p?.stages[1].status === 'failed_waiting') break;
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(p!.status).toBe('waiting');
  expect(p!.stages[0].status).toBe('succeeded');
  expect(p!.stages[1]).toMatchObject({ attempt: 1, error: { type: 'InvalidInput' } });
  const row = await h.db.run.findUniqueOrThrow({ where: { id: p!.runId } });
  expect(row.status).toBe('WAITING');

  await handle.signal('retryStage', { stage: 'train', settings: { attnImplementation: 'sdpa' } });
  const done = (await handle.result()) as TrainModelResult;
  // maxSteps 2 makes a folder of its own: this retry trains
  expect(done).toMatchObject({ status: 'succeeded', steps: 2, reused: false });
  const attempts = await h.db.stageAttempt.findMany({ where: { stage: { runId: p!.runId } }, include: { stage: true }, orderBy: { createdAt: 'asc' } });
  expect(attempts.map((a) => [a.stage.name, a.attempt, a.status])).toEqual([['prepare', 1, 'SUCCEEDED'], ['train', 1, 'FAILED'], ['train', 2, 'SUCCEEDED']]);
}, 300_000);

test('abort during training: the trainer stops, the run ends aborted as a result, and its history says so', async () => {
  const name = uniqueId('synth-abort');
  const handle = await start('trainSynthesizer', spec(name, { maxSteps: 200, epochs: 50, saveSteps: 1 }));
  const runId = handle.firstExecutionRunId;
  await waitForTrainSteps(h.db, runId, 1, 120_000);
  await handle.signal('abort', { reason: 'enough' });
  const r = await handle.result();
  expect(r).toMatchObject({ status: 'aborted', runId, reason: 'enough' });
  const run = await h.db.run.findUniqueOrThrow({ where: { id: runId }, include: { stages: { orderBy: { position: 'asc' } } } });
  expect(run.status).toBe('ABORTED');
  expect(run.stages.map((s) => [s.name, s.status])).toEqual([['prepare', 'SUCCEEDED'], ['train', 'ABORTED']]);
  expect(await h.db.model.count({ where: { runId } })).toBe(0);
}, 300_000);
