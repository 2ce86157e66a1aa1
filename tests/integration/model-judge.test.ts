// Model stages on the GPU queue (a worker process of its own) with the tiny models the
// repository builds: the consistency judge (text LM) and the visual instruction synthesizer
// (Qwen2-VL). Rows link back with raw text, the accounting holds, and a second run over the
// same data is served from the durable cache. The models are random, so their words are noise:
// these tests check the plumbing and the contract, not quality.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startServe } from '../helpers/processes';
import type { RunProgress } from '../../core/types';
import { harness, tempDir, type Harness } from '../helpers/env';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';
import { sampleDataset, specFor, startRun } from '../helpers/runs';

const judgeModel = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2-tiny');
const synthModel = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2vl-tiny');
let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers(['workflow', 'cpu', 'remote']);
  await startWorkerProcess(tempDir('gpu-artifacts'), 'gpu');
});
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

test('model judge: one verdict per task from the model, accounted, and cached across runs', async () => {
  const m = await sampleDataset({ count: 10 });
  const spec = specFor(m);
  Object.assign((spec.stages as Record<string, Record<string, unknown>>).filter, { judge: 'model', model: { backend: 'onnx', path: judgeModel }, batchSize: 4 });
  const first: RunProgress = await (await startRun(h.client, spec)).result();
  expect(first.status).toBe('succeeded');
  const filter = first.stages.find((s) => s.name === 'filter')!;
  const verdicts = await h.db.verdict.findMany({ where: { task: { runId: first.runId } }, include: { task: { select: { synId: true } } }, orderBy: { task: { synId: 'asc' } } });
  expect(verdicts).toHaveLength(10);
  // the stage's counts are its verdicts: a task is kept exactly when the judge said Yes
  const kept = verdicts.filter((v) => v.label === 'YES').length;
  expect(filter.counts).toEqual({ in: 10, out: kept, filtered: 10 - kept, failed: 0 });
  for (const v of verdicts) {
    expect(v.judge).toMatch(/^onnx:[0-9a-f]{64}$/);
    expect(v.judgeVersion).toBe('adamllm-judge-v1');
    expect(typeof v.raw).toBe('string');
    expect(v.kept).toBe(v.label === 'YES');
  }
  // entries of this judge only (the cache is shared by runs; its key is the backend and the prompt)
  const mine = { promptFormat: 'adamllm-judge-v1', backend: verdicts[0].judge };
  const entries = await h.db.cacheEntry.count({ where: mine });
  // one per distinct prompt: tasks with the same triplet share one
  expect(entries).toBeGreaterThanOrEqual(1);
  expect(entries).toBeLessThanOrEqual(10);
  // The cost ledger: tokens read and written, model time spent; at most 2 new tokens a verdict.
  const cost = filter.outputs as Record<string, number>;
  expect(cost.promptTokens).toBeGreaterThan(10 * 100);
  expect(cost.completionTokens).toBeGreaterThan(0);
  expect(cost.completionTokens).toBeLessThanOrEqual(20);
  expect(cost.modelSeconds).toBeGreaterThan(0);

  // Same data again: every judgement comes from the cache (no new entries, hits recorded), same texts.
  const second: RunProgress = await (await startRun(h.client, spec)).result();
  expect(second.status).toBe('succeeded');
  expect(await h.db.cacheEntry.count({ where: mine })).toBe(entries);
  const hits = await h.db.cacheEntry.aggregate({ where: mine, _sum: { hits: true } });
  expect(hits._sum.hits).toBeGreaterThanOrEqual(10);
  const again = await h.db.verdict.findMany({ where: { task: { runId: second.runId } }, orderBy: { task: { synId: 'asc' } } });
  expect(again.map((v) => v.raw)).toEqual(verdicts.map((v) => v.raw));
  // Served from the cache: same tokens accounted, no model time spent.
  expect(second.stages.find((s) => s.name === 'filter')!.outputs).toEqual({ ...cost, modelSeconds: 0, cachedOutputs: 10 });
}, 180_000);

test('the judge through an OpenAI-compatible endpoint (adamllm serve) gives the in-process verdicts', async () => {
  const serve = await startServe(judgeModel);
  try {
    const m = await sampleDataset({ count: 8, seed: 9 });
    const viaOnnx = specFor(m);
    Object.assign((viaOnnx.stages as Record<string, Record<string, unknown>>).filter, { judge: 'model', model: { backend: 'onnx', path: judgeModel } });
    const viaHttp = specFor(m);
    Object.assign((viaHttp.stages as Record<string, Record<string, unknown>>).filter, { judge: 'model', model: { backend: 'openai', baseUrl: serve.baseUrl, model: 'qwen2-tiny', concurrency: 2 } });
    const a: RunProgress = await (await startRun(h.client, viaOnnx)).result();
    const b: RunProgress = await (await startRun(h.client, viaHttp)).result();
    const raw = async (runId: string) => (await h.db.verdict.findMany({ where: { task: { runId } }, orderBy: { task: { synId: 'asc' } } })).map((v) => [v.raw, v.label]);
    expect(await raw(b.runId)).toEqual(await raw(a.runId));
    const judges = await h.db.verdict.findMany({ where: { task: { runId: b.runId } }, select: { judge: true }, distinct: ['judge'] });
    // the identity carries what the server says about the weights it serves (adamllm serve: folder, context, content hash)
    expect(judges).toEqual([{ judge: expect.stringMatching(new RegExp(`^openai:${serve.baseUrl}#qwen2-tiny\\?root=.*qwen2-tiny&max_model_len=\\d+&server_revision=onnx%3A[0-9a-f]{64}$`)) }]);
  } finally {
    serve.stop();
  }
}, 180_000);

test('model synthesizer: raw output and finish reason kept, unparsable output filtered with its reason, cached across runs', async () => {
  const m = await sampleDataset({ count: 6, seed: 3 });
  const spec = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter', 'compose'] });
  Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, { synthesizer: 'model', model: { backend: 'onnx', path: synthModel }, maxNewTokens: 24, batchSize: 3 });
  const first: RunProgress = await (await startRun(h.client, spec)).result();
  expect(first.status).toBe('succeeded');
  const synth = first.stages.find((s) => s.name === 'synthesize')!;
  const tasks = await h.db.synthTask.findMany({ where: { runId: first.runId }, orderBy: { synId: 'asc' } });
  expect(tasks).toHaveLength(6);
  // the stage's counts are its tasks: parsed ones out, unparsable ones filtered
  const parsed = tasks.filter((t) => t.status === 'OK').length;
  expect(synth.counts).toEqual({ in: 6, out: parsed, filtered: 6 - parsed, failed: 0 });
  for (const t of tasks) {
    expect(t).toMatchObject({ synthesizer: 'model', promptFormat: 'qwen2vl-synth-v1', synthesizerVersion: expect.stringMatching(/^onnx:/) });
    expect(typeof t.rawOutput).toBe('string');
    expect(['stop', 'length']).toContain(t.finishReason);
    if (t.status === 'FILTERED') expect(t.reason).toMatch(/^(unparsable output|no triplet)/);
  }
  // entries of this model only: other suites (train-stage) synthesize with other models
  const mine = { promptFormat: 'qwen2vl-synth-v1', backend: tasks[0].synthesizerVersion };
  const entries = await h.db.cacheEntry.count({ where: mine });
  expect(entries).toBe(6);
  expect(synth.outputs).toMatchObject({ cachedOutputs: 0, modelSeconds: expect.any(Number) });
  expect((synth.outputs as Record<string, number>).completionTokens).toBeLessThanOrEqual(6 * 24);

  const second: RunProgress = await (await startRun(h.client, spec)).result();
  expect(await h.db.cacheEntry.count({ where: mine })).toBe(6);
  const again = await h.db.synthTask.findMany({ where: { runId: second.runId }, orderBy: { synId: 'asc' } });
  expect(again.map((t) => t.rawOutput)).toEqual(tasks.map((t) => t.rawOutput));
  expect(second.stages.find((s) => s.name === 'synthesize')!.outputs).toMatchObject({ cachedOutputs: 6, modelSeconds: 0 });
}, 180_000);

test('the synthesizer through adamllm serve (chat with continue_final_message) gives the in-process raw outputs', async () => {
  const serve = await startServe(synthModel);
  try {
    const m = await sampleDataset({ count: 4, seed: 13 });
    const synth = (model: object) => {
      const spec = specFor(m, { pipeline: ['ingest', 'synthesize'] });
      Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, { synthesizer: 'model', model, maxNewTokens: 24 });
      return spec;
    };
    const a: RunProgress = await (await startRun(h.client, synth({ backend: 'onnx', path: synthModel }))).result();
    const b: RunProgress = await (await startRun(h.client, synth({ backend: 'openai', baseUrl: serve.baseUrl, model: 'qwen2vl-tiny' }))).result();
    const raw = async (runId: string) => (await h.db.synthTask.findMany({ where: { runId }, orderBy: { synId: 'asc' } })).map((t) => [t.rawOutput, t.finishReason, t.status]);
    expect(await raw(b.runId)).toEqual(await raw(a.runId));
  } finally {
    serve.stop();
  }
}, 180_000);

test('released synthesizer format (llava-llama3) through an OpenAI-compatible endpoint: the request vLLM needs, and the Llama-3 grammar parsed', async () => {
  // A stand-in for vLLM serving AdaptLLM/visual-instruction-synthesizer: it records each
  // request and answers in the released model's output grammar (docs/method.md §4.4).
  const P = 'Answer with a precise response.\n';
  const I = 'Answer with an informative response.\n';
  const SEP = '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n';
  const UH = '<|start_header_id|>user<|end_header_id|>\n\n';
  const answer = `${P}What dish is this?${SEP}Soup<|eot_id|>${UH}${I}What dish is this?${SEP}A bowl of hot soup.<|eot_id|>`;
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'AdaptLLM/visual-instruction-synthesizer', object: 'model', root: 'AdaptLLM/visual-instruction-synthesizer', max_model_len: 4096 }] }));
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ choices: [{ message: { role: 'assistant', content: answer }, finish_reason: 'stop' }], usage: { prompt_tokens: 900, completion_tokens: 40 } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const m = await sampleDataset({ count: 3, seed: 17 });
    const spec = specFor(m, { pipeline: ['ingest', 'synthesize'] });
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, { synthesizer: 'model', promptFormat: 'llava-llama3', model: { backend: 'openai', baseUrl, model: 'AdaptLLM/visual-instruction-synthesizer' } });
    const run: RunProgress = await (await startRun(h.client, spec)).result();
    expect(run.stages[1].counts).toEqual({ in: 3, out: 3, filtered: 0, failed: 0 });
    const tasks = await h.db.synthTask.findMany({ where: { runId: run.runId } });
    expect(tasks.map((t) => [t.question, t.precise, t.informative, t.promptFormat])).toEqual(Array(3).fill(['What dish is this?', 'Soup', 'A bowl of hot soup.', 'llava-llama3-synth-v1']));
    expect(bodies).toHaveLength(3);
    const body = bodies[0] as { messages: { role: string; content: unknown }[] } & Record<string, unknown>;
    expect(body).toMatchObject({ model: 'AdaptLLM/visual-instruction-synthesizer', temperature: 0, max_tokens: 512, add_generation_prompt: false, continue_final_message: true, skip_special_tokens: false, ignore_eos: true, stop_token_ids: [128001], add_special_tokens: true });
    // the caption is an assistant message the server continues, ending on the open user header
    expect(body.messages.map((x) => x.role)).toEqual(['system', 'user', 'assistant']);
    expect(body.messages[0].content).toMatch(/^You are a helpful language and vision assistant\./);
    expect(body.messages[1].content).toEqual([{ type: 'image_url', image_url: { url: expect.stringMatching(/^data:image\/(png|jpeg);base64,/) } }, { type: 'text', text: '\nDescribe the image.' }]);
    expect(body.messages[2].content).toMatch(/<\|eot_id\|><\|start_header_id\|>user<\|end_header_id\|>\n\n$/);
  } finally {
    server.close();
  }

  // The onnx backend cannot run the released (LLaVA-NeXT) model: the spec says so up front.
  const bad = specFor(await sampleDataset({ count: 1 }));
  Object.assign((bad.stages as Record<string, Record<string, unknown>>).synthesize, { synthesizer: 'model', promptFormat: 'llava-llama3', model: { backend: 'onnx', path: synthModel } });
  const err = await (await startRun(h.client, bad)).result().catch((e) => e);
  expect(err.cause.message).toContain('spec.stages.synthesize.promptFormat: llava-llama3 needs backend "openai"');
}, 180_000);

test('a GPU worker killed mid-synthesis is replaced; every item gets exactly one task', async () => {
  const m = await sampleDataset({ count: 12, seed: 5 });
  const spec = specFor(m, { pipeline: ['ingest', 'synthesize'] });
  Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, {
    synthesizer: 'model',
    model: { backend: 'onnx', path: synthModel },
    maxNewTokens: 96,
    batchSize: 1,
    shardSize: 2,
    shardConcurrency: 1,
    heartbeatTimeoutSeconds: 3,
    cache: false,
  });
  killWorkerProcesses(); // the GPU worker of the earlier tests
  const gpu = await startWorkerProcess(tempDir('gpu-artifacts'), 'gpu');
  const handle = await startRun(h.client, spec);
  const runId = (await handle.describe()).runId;
  for (let i = 0; i < 600; i++) {
    const n = await h.db.synthTask.count({ where: { run: { workflowId: handle.workflowId } } });
    if (n >= 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  gpu.kill('SIGKILL');
  await new Promise((r) => gpu.once('exit', r));
  const atKill = await h.db.synthTask.count({ where: { run: { workflowId: handle.workflowId } } });
  expect(atKill).toBeLessThan(12);
  await startWorkerProcess(tempDir('gpu-artifacts'), 'gpu');
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  expect(result.runId).toBe(runId);
  const tasks = await h.db.synthTask.findMany({ where: { runId }, select: { itemId: true } });
  expect(tasks).toHaveLength(12);
  expect(new Set(tasks.map((t) => t.itemId)).size).toBe(12);
  const synth = result.stages.find((s) => s.name === 'synthesize')!;
  expect(synth.attempt).toBe(1);
  expect(synth.counts!.in).toBe(12);
}, 180_000);
