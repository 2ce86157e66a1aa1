// The evaluate and report stages through Temporal with the tiny Qwen2-VL the repository builds,
// on a GPU-queue worker of its own: every model answers every benchmark row, the metrics equal
// what `adamllm score` computes from the same predictions, a second run reuses the base
// model's predictions instead of generating, and a missing benchmark waits for a patched retry.
// The model is random, so the answers are noise: this checks the plumbing and the bookkeeping.
import fs from 'node:fs';
import path from 'node:path';
import { TASKS, type TaskName } from '../../core/eval/tasks';
import type { RunProgress } from '../../core/types';
import { scoreFile } from '../../activities/evaluate/score-file';
import { readBenchmark } from '../../activities/benchmarks/benchmark-reader';
import type { ColumnStatistics } from '../../activities/report/run-statistics';
import { harness, tempDir, testEnv, type Harness } from '../helpers/env';
import { runCli, startServe } from '../helpers/processes';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';

const tinyVL = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2vl-tiny');
const fixture = (f: string) => path.join(__dirname, '..', 'fixtures', 'benchmarks', f);
let h: Harness;
let adapted: string;
let artifacts: string;

beforeAll(async () => {
  h = await harness();
  await h.startWorkers(['workflow', 'cpu', 'remote']);
  artifacts = tempDir('eval-artifacts');
  await startWorkerProcess(artifacts, 'gpu');
  // A stand-in for an adapted model: the same weights in another folder with one more file, so
  // it is another revision (its own Model row and cache identity) and answers for itself.
  adapted = path.join(tempDir('adapted'), 'qwen2vl-tiny-food');
  fs.cpSync(tinyVL, adapted, { recursive: true });
  fs.writeFileSync(path.join(adapted, 'ADAPTED.txt'), 'a copy standing in for a post-trained model\n');
});
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

/** A Food101 split as JSONL with image paths (the second input layout). */
async function food101Jsonl(dir: string, images: string[]): Promise<string> {
  const file = path.join(dir, 'food101.jsonl');
  const labels = ['apple_pie', 'pizza', 'sushi'];
  const lines = images.slice(0, 3).map((img, i) => JSON.stringify({ image: img, input: 'What is the name of this dish?', label: labels[i] }));
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function evalSpec(m: Awaited<ReturnType<typeof sampleDataset>>, benchmarks: object[]) {
  const spec = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter', 'compose', 'export', 'evaluate', 'report'] });
  (spec.stages as Record<string, unknown>).evaluate = {
    retry: { maximumAttempts: 1, initialIntervalSeconds: 0.2 },
    heartbeatTimeoutSeconds: 30,
    shardSize: 2,
    maxNewTokens: 12,
    benchmarks,
    models: [
      { kind: 'base', model: { backend: 'onnx', path: tinyVL } },
      { kind: 'adapted', model: { backend: 'onnx', path: adapted } },
    ],
  };
  return spec;
}

/** The metrics `adamllm score` gives for a model's stored predictions on a benchmark file. */
async function scoredByCli(runId: string, modelName: string, task: TaskName, file: string): Promise<Record<string, number | null>> {
  const preds = await h.db.prediction.findMany({ where: { runId, model: { name: modelName }, task }, orderBy: { rowIndex: 'asc' } });
  const lines: string[] = [];
  for await (const row of readBenchmark(file, TASKS[task])) {
    const p = preds.find((x) => x.rowIndex === row.index);
    lines.push(JSON.stringify({ ...row.fields, ...(p?.output != null ? { pred: p.output } : {}) }));
  }
  const out = path.join(tempDir('preds'), `${task}.jsonl`);
  fs.writeFileSync(out, `${lines.join('\n')}\n`);
  return (await scoreFile(TASKS[task], out, { f1Convention: 'sklearn>=1.3' })).metrics;
}

test('evaluate + report: base and adapted on three benchmarks, metrics as the score command computes them, predictions reused by the next run', async () => {
  const m = await sampleDataset({ count: 6, seed: 21 });
  const food = await food101Jsonl(tempDir('bench'), fs.readdirSync(m.imageRoot, { recursive: true }).map(String).filter((f) => /\.(png|jpe?g)$/.test(f)).sort().map((f) => path.join(m.imageRoot, f)));
  const benchmarks = [
    { task: 'VQA_RAD', path: fixture('vqa_rad.parquet') },
    { task: 'PMC_VQA', path: fixture('pmc_vqa.arrow') },
    { task: 'Food101', path: food },
  ];
  const first: RunProgress = await (await startRun(h.client, evalSpec(m, benchmarks))).result();
  expect(first.status).toBe('succeeded');
  const ev = first.stages.find((s) => s.name === 'evaluate')!;
  // 2 models × (5 + 3 + 3 rows); shards of 2 rows: 2 × (3 + 2 + 2)
  expect(ev.counts).toEqual({ in: 22, out: 22, filtered: 0, failed: 0 });
  expect(ev.shardsTotal).toBe(14);
  expect(ev.outputs).toMatchObject({ reusedPredictions: 0, cachedOutputs: 0, modelSeconds: expect.any(Number) });
  expect((ev.outputs as Record<string, number>).completionTokens).toBeLessThanOrEqual(22 * 12);

  const evals = await h.db.evaluation.findMany({ where: { runId: first.runId }, include: { model: true }, orderBy: { position: 'asc' } });
  expect(evals.map((e) => [e.model.name, e.kind, e.task, e.rows])).toEqual([
    ['qwen2vl-tiny', 'BASE', 'VQA_RAD', 5],
    ['qwen2vl-tiny', 'BASE', 'PMC_VQA', 3],
    ['qwen2vl-tiny', 'BASE', 'Food101', 3],
    ['qwen2vl-tiny-food', 'ADAPTED', 'VQA_RAD', 5],
    ['qwen2vl-tiny-food', 'ADAPTED', 'PMC_VQA', 3],
    ['qwen2vl-tiny-food', 'ADAPTED', 'Food101', 3],
  ]);
  expect(evals[0].setup).toMatchObject({ promptVersion: 'qwen2vl-eval-v1', minPixels: 50176, maxPixels: 1003520, maxNewTokens: 12 });
  expect(evals[0].model.revision).not.toBe(evals[3].model.revision);

  // Every metric row equals the score command over the same predictions.
  const metrics = await h.db.metric.findMany({ where: { runId: first.runId }, include: { model: true } });
  expect(metrics).toHaveLength(2 * (2 + 1 + 1));
  for (const [task, file] of [['VQA_RAD', fixture('vqa_rad.parquet')], ['PMC_VQA', fixture('pmc_vqa.arrow')], ['Food101', food]] as const) {
    for (const name of ['qwen2vl-tiny', 'qwen2vl-tiny-food']) {
      const want = await scoredByCli(first.runId, name, task, file);
      const got = Object.fromEntries(metrics.filter((x) => x.task === task && x.model.name === name).map((x) => [x.key, x.value]));
      const { test_num: n, ...rest } = want;
      expect(got).toEqual(rest);
      expect(metrics.find((x) => x.task === task && x.model.name === name)!.testNum).toBe(n);
    }
  }
  const preds = await h.db.prediction.findMany({ where: { runId: first.runId } });
  expect(preds).toHaveLength(22);
  for (const p of preds) {
    expect(typeof p.output).toBe('string');
    expect(p.details).toMatchObject({ finishReason: expect.stringMatching(/^(stop|length)$/), cached: false });
  }

  // The report stage wrote the Markdown and the chart, with both models and the delta.
  const rep = first.stages.find((s) => s.name === 'report')!;
  expect(rep.status).toBe('succeeded');
  const md = fs.readFileSync(String(rep.outputs!.markdown), 'utf8');
  expect(md).toContain('| task | metric | qwen2vl-tiny (base) | qwen2vl-tiny-food (adapted) | Δ |');
  expect(md).toMatch(/\| VQA_RAD \| OPEN recall \|/);
  expect(fs.statSync(String(rep.outputs!.chart)).size).toBeGreaterThan(1000);
  expect(await h.db.artifact.count({ where: { runId: first.runId, stage: 'report' } })).toBe(2);

  // Its statistics, also in `runs show`: the adapted model is the base's weights in another folder,
  // so each comparison's difference is 0 with a zero-width interval, no row changed (McNemar:
  // 0 and 0, p 1), and nothing is significant; each score is the metric the stage recorded.
  expect(md).toContain('## Statistics: adapted vs base');
  expect(md).toMatch(/\| VQA_RAD CLOSED \| \d+ \(\d+(, design effect [\d.]+)?\) \|/);
  const shown = JSON.parse((await runCli(['runs', 'show', first.runId, '--json'], { ...process.env, DATABASE_URL: testEnv().databaseUrl })).stdout) as { statistics: ColumnStatistics[] };
  expect(shown.statistics.map((c) => `${c.task} ${c.part}`).sort()).toEqual(['Food101 all', 'PMC_VQA all', 'VQA_RAD closed', 'VQA_RAD open']);
  for (const c of shown.statistics) {
    expect(c.difference).toMatchObject({ delta: 0, low: 0, high: 0, resamples: 10_000 });
    expect({ significant: c.significant, pHolm: c.pHolm }).toEqual({ significant: false, pHolm: 1 });
    expect(c.base.low).toBeLessThanOrEqual(c.base.value);
    expect(c.base.high).toBeGreaterThanOrEqual(c.base.value);
    if (c.kind === 'proportion') expect(c.test).toEqual({ name: 'McNemar exact', baseOnly: 0, otherOnly: 0, p: 1 });
  }
  const metricOf = (task: string, key: string) => metrics.find((x) => x.model.name === 'qwen2vl-tiny' && x.task === task && x.key === key)!.value;
  expect(shown.statistics.find((c) => c.task === 'VQA_RAD' && c.part === 'closed')!.base.value).toBeCloseTo(metricOf('VQA_RAD', 'CLOSED yes/no accuracy')!, 6);
  expect(shown.statistics.find((c) => c.task === 'PMC_VQA')!.base.value).toBeCloseTo(metricOf('PMC_VQA', 'acc')!, 6);

  // A second run over the same benchmarks: every prediction is reused, no model time spent.
  const second: RunProgress = await (await startRun(h.client, evalSpec(m, benchmarks))).result();
  expect(second.status).toBe('succeeded');
  const ev2 = second.stages.find((s) => s.name === 'evaluate')!;
  expect(ev2.outputs).toMatchObject({ reusedPredictions: 22, modelSeconds: 0, promptTokens: 0 });
  const again = await h.db.metric.findMany({ where: { runId: second.runId }, include: { model: true } });
  const key = (x: (typeof metrics)[number]) => `${x.model.name} ${x.task} ${x.key} ${x.value}`;
  expect(again.map(key).sort()).toEqual(metrics.map(key).sort());
  expect(await h.db.prediction.count({ where: { runId: second.runId } })).toBe(0);

  // runs compare puts the two runs' scores side by side, matched by task, metric and model kind.
  const { stdout } = await runCli(['runs', 'compare', first.runId, second.runId, '--json'], { ...process.env, DATABASE_URL: testEnv().databaseUrl });
  const cmp = JSON.parse(stdout) as { metrics: { task: string; metric: string; kind: string; a: number; b: number; delta: number }[] };
  expect(cmp.metrics).toHaveLength(8);
  expect(cmp.metrics.find((x) => x.task === 'VQA_RAD' && x.metric === 'OPEN recall' && x.kind === 'adapted')).toMatchObject({ delta: 0 });
  for (const x of cmp.metrics) expect(x.b).toBe(x.a);
}, 300_000);

test('a missing benchmark file waits with a clear error; a patched retry evaluates without redoing earlier stages', async () => {
  const m = await sampleDataset({ count: 4, seed: 22 });
  const missing = path.join(tempDir('bench'), 'nope.parquet');
  const spec = evalSpec(m, [{ task: 'VQA_RAD', path: missing }]);
  (spec.stages as Record<string, Record<string, unknown>>).evaluate.models = [{ kind: 'base', model: { backend: 'onnx', path: tinyVL } }];
  const handle = await startRun(h.client, spec);
  const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((s) => s.name === 'evaluate' && s.status === 'failed_waiting'), 120_000);
  const ev = waiting.stages.find((s) => s.name === 'evaluate')!;
  expect(ev.error?.type).toBe('InvalidInput');
  expect(ev.error?.message).toContain(`benchmark file not found: ${missing}`);
  await handle.signal('retryStage', { stage: 'evaluate', settings: { benchmarks: [{ task: 'VQA_RAD', path: fixture('vqa_rad.arrow'), limit: 3 }] } });
  const done: RunProgress = await handle.result();
  expect(done.status).toBe('succeeded');
  expect(done.stages.find((s) => s.name === 'evaluate')!.counts).toEqual({ in: 3, out: 3, filtered: 0, failed: 0 });
  // ingest ran once: the retry did not redo the stages before evaluate
  const ingest = await h.db.stage.findFirstOrThrow({ where: { runId: done.runId, name: 'ingest' } });
  expect(ingest.attempts).toBe(1);
  const evRow = await h.db.stage.findFirstOrThrow({ where: { runId: done.runId, name: 'evaluate' } });
  expect(evRow.attempts).toBe(2);
}, 300_000);

const maxModelLen = () => {
  const c = JSON.parse(fs.readFileSync(path.join(tinyVL, 'config.json'), 'utf8')) as { max_position_embeddings?: number; text_config?: { max_position_embeddings?: number } };
  return c.max_position_embeddings ?? c.text_config?.max_position_embeddings;
};

test('the same evaluation through an OpenAI-compatible endpoint (adamllm serve) gives the in-process answers', async () => {
  const serve = await startServe(tinyVL);
  try {
    const m = await sampleDataset({ count: 3, seed: 23 });
    const bench = [{ task: 'VQA_RAD', path: fixture('vqa_rad.arrow'), limit: 3 }];
    const viaOnnx = evalSpec(m, bench);
    const viaHttp = evalSpec(m, bench);
    const ev = (spec: Record<string, unknown>) => (spec.stages as Record<string, Record<string, unknown>>).evaluate;
    ev(viaOnnx).models = [{ kind: 'base', name: 'tiny-in-process', model: { backend: 'onnx', path: tinyVL } }];
    ev(viaHttp).models = [{ kind: 'base', name: 'tiny-served', model: { backend: 'openai', baseUrl: serve.baseUrl, model: 'qwen2vl-tiny', concurrency: 2 } }];
    const a: RunProgress = await (await startRun(h.client, viaOnnx)).result();
    const b: RunProgress = await (await startRun(h.client, viaHttp)).result();
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    const outputs = async (runId: string, name: string) =>
      (await h.db.prediction.findMany({ where: { runId, model: { name }, task: 'VQA_RAD' }, orderBy: { rowIndex: 'asc' } })).map((p) => [p.rowIndex, p.output]);
    const served = await outputs(b.runId, 'tiny-served');
    expect(served).toHaveLength(3);
    expect(served).toEqual(await outputs(a.runId, 'tiny-in-process'));
    // The Model row says which weights answered: what the server reported, down to the folder's content hash.
    const modelOf = async (runId: string) => (await h.db.prediction.findFirstOrThrow({ where: { runId }, select: { model: { select: { revision: true, format: true } } } })).model;
    const row = await modelOf(b.runId);
    const local = await modelOf(a.runId);
    expect(row.format).toBe('openai');
    expect(row.revision).toBe(`openai:${serve.baseUrl}#qwen2vl-tiny?root=${encodeURIComponent(tinyVL)}&max_model_len=${maxModelLen()}&server_revision=${encodeURIComponent(local.revision)}`);

    // JPEG at quality 90 instead of PNG: another setup (no PNG prediction reused), each image a fraction of the bytes.
    const jpeg = evalSpec(m, bench);
    ev(jpeg).models = ev(viaHttp).models;
    Object.assign(ev(jpeg), { imageFormat: 'jpeg', imageQuality: 90 });
    const c: RunProgress = await (await startRun(h.client, jpeg)).result();
    expect(c.status).toBe('succeeded');
    expect(c.stages.find((x) => x.name === 'evaluate')!.outputs).toMatchObject({ reusedPredictions: 0 });
  } finally {
    serve.stop();
  }
}, 300_000);
