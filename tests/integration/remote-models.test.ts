// Model stages on an OpenAI-compatible endpoint (a scripted stand-in for vLLM): they run on the
// remote queue (no GPU worker exists here), one limiter per endpoint and process bounds what is
// in flight, a request the server refuses fails only its item, 429/5xx are retried, the served
// model's identity decides what the cache may reuse, and a server that stays down fails the stage
// without losing or re-asking what was answered.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { prepareEvalImage } from '../../activities/evaluate/eval-image';
import { OpenAIBackend } from '../../activities/inference/openai-backend';
import { ImageUnusable, RequestRejected, type ImageInput } from '../../activities/inference/backend';
import { datasetImage, preparedImage } from '../../activities/inference/images';
import type { RunProgress } from '../../core/types';
import { startFakeOpenAI, llamaTriplet, type FakeServer } from '../helpers/fake-openai';
import { harness, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';

const MODEL = 'AdaptLLM/visual-instruction-synthesizer';
const OVERFLOW = "This model's maximum context length is 4096 tokens. However, you requested 4400 tokens (3888 in the messages, 512 in the completion).";

let h: Harness;
beforeAll(async () => {
  h = await harness();
  // no gpu queue: a model stage that went there would never run
  await h.startWorkers(['workflow', 'cpu', 'remote']);
});
afterAll(() => h.close());

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** A jsonl dataset whose captions carry markers the stand-in server reacts to. */
async function markedDataset(count: number, seed: number, marks: Record<number, string>) {
  const m = await sampleDataset({ count, seed, format: 'jsonl' });
  const lines = (await fs.readFile(m.annotationFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string; caption: string });
  for (const [i, mark] of Object.entries(marks)) lines[Number(i)].caption = `${mark} ${lines[Number(i)].caption}`;
  await fs.writeFile(m.annotationFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return m;
}

function modelSpec(m: Awaited<ReturnType<typeof sampleDataset>>, server: FakeServer, o: { pipeline: string[]; concurrency: number; shardSize: number; maxRetries?: number }) {
  const spec = specFor(m, { pipeline: o.pipeline });
  const model = { backend: 'openai', baseUrl: server.baseUrl, model: MODEL, concurrency: o.concurrency, maxRetries: o.maxRetries ?? 5 };
  const stages = spec.stages as Record<string, Record<string, unknown>>;
  Object.assign(stages.synthesize, { synthesizer: 'model', promptFormat: 'llava-llama3', model, shardSize: o.shardSize, shardConcurrency: 4 });
  Object.assign(stages.filter, { judge: 'model', model, shardSize: o.shardSize });
  return spec;
}

test('the endpoint limiter is per endpoint and process: requests in flight reach the limit and never pass it', async () => {
  const s = await startFakeOpenAI({ model: 'm', holdMs: 40 });
  try {
    const a = new OpenAIBackend({ baseUrl: s.baseUrl, model: 'm', concurrency: 6 });
    const b = new OpenAIBackend({ baseUrl: `${s.baseUrl}/`, model: 'm', concurrency: 6 });
    const reqs = Array.from({ length: 30 }, (_, i) => ({ prompt: `p${i}` }));
    const [ra, rb] = await Promise.all([a.generate(reqs, { maxNewTokens: 2 }), b.generate(reqs, { maxNewTokens: 2 })]);
    expect(ra).toHaveLength(30);
    expect(rb).toHaveLength(30);
    expect(s.bodies).toHaveLength(60);
    expect(s.maxInFlight).toBe(6);
    expect(a.limiter).toBe(b.limiter);
  } finally {
    await s.close();
  }
});

test('a 4xx fails that request with the server message (context overflow named, also where the server shortened max_tokens), 503 is retried, 401 is the endpoint\'s fault', async () => {
  const s = await startFakeOpenAI({ model: 'm' });
  try {
    let flaky = 2;
    s.setAnswer((body) => {
      if (body.includes('too-long')) return { status: 400, text: OVERFLOW };
      if (body.includes('malformed')) return { status: 422, text: 'messages: field required' };
      if (body.includes('flaky') && flaky-- > 0) return { status: 503, text: 'overloaded' };
      if (body.includes('auth')) return { status: 401, text: 'bad key' };
      // llama.cpp's server: max_tokens shortened to what fits the context, the answer cut for length
      if (body.includes('shortened')) return { text: 'Yes, the', finishReason: 'length', completionTokens: 3 };
      return { text: 'ok' };
    });
    const backend = new OpenAIBackend({ baseUrl: s.baseUrl, model: 'm', retryDelayMs: 10 });
    const d = { maxNewTokens: 2 };
    const overflow = await backend.generate([{ prompt: 'too-long' }], d).catch((e: unknown) => e);
    expect(overflow).toBeInstanceOf(RequestRejected);
    expect((overflow as RequestRejected).reason).toBe(`context overflow: HTTP 400: ${OVERFLOW}`);
    const malformed = await backend.generate([{ prompt: 'malformed' }], d).catch((e: unknown) => e);
    expect(malformed).toMatchObject({ kind: 'rejected', status: 422, serverMessage: 'messages: field required' });
    const before = s.bodies.length;
    const [r] = await backend.generate([{ prompt: 'flaky' }], d);
    expect(r.text).toBe('ok');
    expect(s.bodies.length - before).toBe(3);
    const shortened = await backend.generate([{ prompt: 'shortened' }], { maxNewTokens: 16 }).catch((e: unknown) => e);
    expect(shortened).toBeInstanceOf(RequestRejected);
    expect((shortened as RequestRejected).reason).toContain('context overflow: HTTP 200: the answer ended for length after 3 of the 16 tokens asked');
    const [full] = await backend.generate([{ prompt: 'shortened' }], { maxNewTokens: 3 }); // cut at the budget asked: an answer
    expect(full).toMatchObject({ text: 'Yes, the', finishReason: 'length' });
    const auth = await backend.generate([{ prompt: 'auth' }], d).catch((e: unknown) => e);
    expect(auth).not.toBeInstanceOf(RequestRejected);
    expect(auth).toMatchObject({ type: 'InvalidInput', nonRetryable: true, message: expect.stringContaining('HTTP 401') });
  } finally {
    await s.close();
  }
});

test('a 500 with the same message on every try is that request\'s failure; a 500 that changes, or passes, is the server\'s and retried', async () => {
  const BROADCAST = 'could not broadcast input array from shape (3,) into shape (2,)';
  const s = await startFakeOpenAI({ model: 'm' });
  try {
    let changing = 0;
    let recovering = 2;
    s.setAnswer((body) => {
      if (body.includes('broken')) return { status: 500, text: BROADCAST };
      if (body.includes('changing')) return { status: 500, text: `worker ${++changing} crashed` };
      if (body.includes('recovering') && recovering-- > 0) return { status: 500, text: 'engine restarting' };
      return { text: 'ok' };
    });
    const backend = new OpenAIBackend({ baseUrl: s.baseUrl, model: 'm', retryDelayMs: 10, maxRetries: 3 });
    const d = { maxNewTokens: 2 };
    const broken = await backend.generate([{ prompt: 'broken' }], d).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(RequestRejected);
    expect(broken).toMatchObject({ kind: 'server error', status: 500 });
    expect((broken as RequestRejected).reason).toContain(BROADCAST);
    expect(s.bodies.filter((b) => b.includes('broken'))).toHaveLength(4); // asked again before it was called the item's fault
    const changed = await backend.generate([{ prompt: 'changing' }], d).catch((e: unknown) => e);
    expect(changed).not.toBeInstanceOf(RequestRejected); // the stage's (retryable) failure, not the item's
    expect((changed as Error).message).toContain('gave up after 4 tries');
    const [r] = await backend.generate([{ prompt: 'recovering' }], d);
    expect(r.text).toBe('ok');
  } finally {
    await s.close();
  }
});

test('identity: what /v1/models reports about the served weights, plus the spec\'s revision; a name the server does not serve is refused', async () => {
  const s = await startFakeOpenAI({ model: 'm', root: '/ckpt/a', maxModelLen: 4096 });
  try {
    // a vLLM card: 64 in flight per process unless the spec says
    expect((await OpenAIBackend.connect({ baseUrl: s.baseUrl, model: 'm' })).limiter.limit).toBe(64);
    expect((await OpenAIBackend.connect({ baseUrl: s.baseUrl, model: 'm', concurrency: 8 })).limiter.limit).toBe(8);
    const a = await OpenAIBackend.connect({ baseUrl: s.baseUrl, model: 'm' });
    expect(a.identity).toBe(`openai:${s.baseUrl}#m?root=%2Fckpt%2Fa&max_model_len=4096`);
    s.root = '/ckpt/b';
    expect((await OpenAIBackend.connect({ baseUrl: s.baseUrl, model: 'm', revision: 'v2' })).identity).toBe(`openai:${s.baseUrl}#m?root=%2Fckpt%2Fb&max_model_len=4096&revision=v2`);
    await expect(OpenAIBackend.connect({ baseUrl: s.baseUrl, model: 'other' })).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('does not serve model "other" (it serves: m)') });
  } finally {
    await s.close();
  }
});

test('images go inline as data URLs, or as file:// URLs when the server reads local media; a prepared image is written once by its hash', async () => {
  const s = await startFakeOpenAI({ model: 'm' });
  try {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'media-'));
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#c04020' } }).png().toBuffer();
    await fs.writeFile(path.join(dir, 'a.png'), png);
    const chat = { messages: [{ role: 'user' as const, content: [{ type: 'image' as const, index: 0 }, { type: 'text' as const, text: 'What is it?' }] }], addGenerationPrompt: true, continueFinalMessage: false };
    const imageUrl = (body: string) => (JSON.parse(body) as { messages: { content: { image_url?: { url: string } }[] }[] }).messages[0].content[0].image_url!.url;
    const ask = (localMedia: boolean, image: ImageInput) => new OpenAIBackend({ baseUrl: s.baseUrl, model: 'm', localMedia }).generate([{ prompt: '', chat, images: [image] }], { maxNewTokens: 2 });

    await ask(false, datasetImage(path.join(dir, 'a.png'), 'sha-a'));
    expect(imageUrl(s.bodies[0])).toBe(`data:image/png;base64,${png.toString('base64')}`);
    await ask(true, datasetImage(path.join(dir, 'a.png'), 'sha-a'));
    expect(imageUrl(s.bodies[1])).toBe(`file://${path.join(dir, 'a.png')}`);

    const how = { family: 'qwen2vl' as const, minPixels: 56 * 56, maxPixels: 28 * 28 * 1280, format: 'jpeg' as const, quality: 90 };
    const prepared = () => preparedImage(async () => png, 'sha-a', how, async (b) => ({ bytes: await prepareEvalImage(b, how), ext: 'jpg' }), path.join(dir, 'media'));
    await ask(true, prepared());
    await ask(true, prepared());
    const written = imageUrl(s.bodies[2]);
    expect(written).toMatch(new RegExp(`^file://${dir}/media/[0-9a-f]{64}\\.jpg$`));
    expect(imageUrl(s.bodies[3])).toBe(written);
    expect(await fs.readdir(path.join(dir, 'media'))).toHaveLength(1);
    const meta = await sharp(written.slice('file://'.length)).metadata();
    expect([meta.format, meta.width! % 28, meta.height! % 28]).toEqual(['jpeg', 0, 0]); // smart_resize'd, then JPEG
    // an image that cannot be prepared fails its item, not the call's other requests
    const broken = preparedImage(async () => new Uint8Array([1, 2, 3]), 'sha-x', how, async (b) => ({ bytes: await prepareEvalImage(b, how), ext: 'jpg' }), dir);
    await expect(ask(false, broken)).rejects.toBeInstanceOf(ImageUnusable);
  } finally {
    await s.close();
  }
});

test('synthesis and judge on an endpoint: per-item refusals, retried 503s, the limit reached, answers cached under the served model', async () => {
  const m = await markedDataset(12, 21, { 2: 'OVERFLOW', 7: 'OVERFLOW', 4: 'FLAKY', 9: 'JUDGEBAD' });
  const s = await startFakeOpenAI({ model: MODEL, root: '/ckpt/one', holdMs: 100 });
  let flaky = 2;
  s.setAnswer((body) => {
    if (body.includes('"messages"')) {
      if (body.includes('OVERFLOW')) return { status: 400, text: OVERFLOW };
      if (body.includes('FLAKY') && flaky-- > 0) return { status: 503, text: 'busy' };
      return { text: llamaTriplet(`What is dish ${hash(body)}${body.includes('JUDGEBAD') ? ' JUDGEBAD' : ''}?`) };
    }
    if (body.includes('JUDGEBAD')) return { status: 400, text: OVERFLOW };
    return { text: 'Yes' };
  });
  try {
    const spec = modelSpec(m, s, { pipeline: ['ingest', 'synthesize', 'filter', 'compose'], concurrency: 3, shardSize: 4 });
    const first: RunProgress = await (await startRun(h.client, spec)).result();
    expect(first.status).toBe('succeeded');
    const synth = first.stages.find((x) => x.name === 'synthesize')!;
    const filter = first.stages.find((x) => x.name === 'filter')!;
    expect(synth.counts).toEqual({ in: 12, out: 10, filtered: 0, failed: 2 });
    expect(synth.reasons).toEqual({ 'context overflow': 2 });
    expect(filter.counts).toEqual({ in: 10, out: 9, filtered: 0, failed: 1 });
    const failedTasks = await h.db.synthTask.findMany({ where: { runId: first.runId, status: 'FAILED' }, select: { reason: true } });
    expect(failedTasks.map((t) => t.reason)).toEqual(Array(2).fill(`context overflow: HTTP 400: ${OVERFLOW}`));
    const refused = await h.db.verdict.findMany({ where: { task: { runId: first.runId }, failed: true }, select: { kept: true, reason: true } });
    expect(refused).toEqual([{ kept: false, reason: `context overflow: HTTP 400: ${OVERFLOW}` }]);
    // 3 shards of 4 asked at once; the process's limiter let exactly 3 out at a time
    expect(s.maxInFlight).toBe(3);
    const versions = await h.db.synthTask.findMany({ where: { runId: first.runId }, select: { synthesizerVersion: true }, distinct: ['synthesizerVersion'] });
    expect(versions).toEqual([{ synthesizerVersion: `openai:${s.baseUrl}#${MODEL}?root=%2Fckpt%2Fone&max_model_len=4096` }]);

    // The same model again: answers come from the cache; only the refused requests are asked again.
    const asked = s.bodies.length;
    const second: RunProgress = await (await startRun(h.client, spec)).result();
    expect(second.stages.find((x) => x.name === 'synthesize')!.outputs).toMatchObject({ cachedOutputs: 10 });
    expect(s.bodies.slice(asked).every((b) => b.includes('OVERFLOW') || b.includes('JUDGEBAD'))).toBe(true);
    expect(s.bodies.length - asked).toBe(3);

    // Another checkpoint served under the same name: nothing of the old one is reused.
    s.root = '/ckpt/two';
    const third: RunProgress = await (await startRun(h.client, spec)).result();
    expect(third.stages.find((x) => x.name === 'synthesize')!.outputs).toMatchObject({ cachedOutputs: 0 });
    expect(third.stages.find((x) => x.name === 'filter')!.outputs).toMatchObject({ cachedOutputs: 0 });
    const now = await h.db.synthTask.findFirst({ where: { runId: third.runId }, select: { synthesizerVersion: true } });
    expect(now!.synthesizerVersion).toContain('root=%2Fckpt%2Ftwo');
  } finally {
    await s.close();
  }
}, 180_000);

/** A Qwen2-VL synthesizer's whole output for one caption: the triplet, then its end token. */
const qwenTriplet = (q: string) =>
  `Answer with a precise response.\n${q}<|im_end|>\n<|im_start|>assistant\nSoup<|im_end|>\n<|im_start|>user\nAnswer with an informative response.\n${q}<|im_end|>\n<|im_start|>assistant\nA bowl of hot soup.<|im_end|>\n<|endoftext|>`;

// What a released Qwen2-VL-Instruct folder tells vLLM (generation_config.json, and the tokenizer's
// eos <|im_end|>): sampling settings near greedy with a repetition penalty, and both turn ends as EOS.
const QWEN2VL_INSTRUCT_GENERATION = { eos_token_id: [151645, 151643], repetition_penalty: 1.05, temperature: 0.01, top_k: 1, top_p: 0.001 };
const PLAIN_GREEDY = { temperature: 0, top_p: 1, top_k: 0, min_p: 0, repetition_penalty: 1, presence_penalty: 0, frequency_penalty: 0 };

test('as vLLM decodes them: synthesis asks for plain greedy and a stop set without the EOS ids, so the whole triplet comes back', async () => {
  const m = await sampleDataset({ count: 6, seed: 33, format: 'jsonl' });
  // one photo-sized image: a vLLM server would size it by its own processor (up to 12.8 MP)
  const first = JSON.parse((await fs.readFile(m.annotationFile, 'utf8')).split('\n')[0]) as { image: string };
  const photo = path.resolve(m.imageRoot ?? path.dirname(m.annotationFile), first.image);
  await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 180, g: 90, b: 30 } } }).png().toFile(`${photo}.tmp.png`);
  await fs.rename(`${photo}.tmp.png`, photo);
  const s = await startFakeOpenAI({ model: MODEL, generationConfig: QWEN2VL_INSTRUCT_GENERATION, tokenizerEos: 151645 });
  s.setAnswer((body) => (body.includes('"messages"') ? { text: qwenTriplet(`What is dish ${hash(body)}?`) } : { text: 'Yes' }));
  try {
    const spec = modelSpec(m, s, { pipeline: ['ingest', 'synthesize', 'filter'], concurrency: 4, shardSize: 3 });
    Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, { promptFormat: 'qwen2vl' });
    const run: RunProgress = await (await startRun(h.client, spec)).result();
    // vLLM would stop at the first <|im_end|> had the request left ignore_eos unset: every item unparsable
    expect(run.stages.find((x) => x.name === 'synthesize')!.counts).toEqual({ in: 6, out: 6, filtered: 0, failed: 0 });
    const tasks = await h.db.synthTask.findMany({ where: { runId: run.runId }, select: { precise: true, informative: true } });
    expect(tasks).toEqual(Array(6).fill({ precise: 'Soup', informative: 'A bowl of hot soup.' }));
    const synthesis = s.effective.filter((_, i) => s.bodies[i].includes('"messages"'));
    expect(synthesis).toHaveLength(6);
    // the end token resolved to its id through the server's /tokenize, once per backend
    expect(synthesis.map((e) => e.stopIds)).toEqual(Array(6).fill([151643]));
    expect(s.tokenizeCalls).toBeGreaterThan(0);
    // images at the trainer's scale (at most 512² by default), the photo's shrunk to 591x443
    const sent = await Promise.all(
      s.bodies.filter((b) => b.includes('"messages"')).map(async (b) => {
        const url = (JSON.parse(b) as { messages: { content: unknown }[] }).messages[1].content as { image_url?: { url: string } }[];
        const meta = await sharp(Buffer.from(url[0].image_url!.url.split(',')[1], 'base64')).metadata();
        return [meta.width!, meta.height!];
      }),
    );
    expect(sent.every(([w, h]) => w * h <= 512 * 512)).toBe(true);
    expect(sent).toContainEqual([591, 443]);
    // nothing of the folder's sampling settings reaches any request, the judge's included
    expect(s.effective.map((e) => { const { max_tokens: _, ...rest } = e.sampling; return rest; })).toEqual(Array(s.effective.length).fill(PLAIN_GREEDY));
  } finally {
    await s.close();
  }
}, 120_000);

test('a server that is not vLLM (a bare /models card): the synthesizer formats are refused saying why; the judge runs, cached only under a revision', async () => {
  const m = await sampleDataset({ count: 4, seed: 41, format: 'jsonl' });
  const s = await startFakeOpenAI({ model: MODEL, card: 'bare', noTokenize: true });
  s.setAnswer((body) => (body.includes('"messages"') ? { text: llamaTriplet('What is it?') } : { text: 'Yes' }));
  try {
    // synthesis: refused before a request is sent, and the stage waits for the operator
    const spec = modelSpec(m, s, { pipeline: ['ingest', 'synthesize'], concurrency: 2, shardSize: 4 });
    const handle = await startRun(h.client, spec);
    const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'));
    const synth = waiting.stages.find((x) => x.name === 'synthesize')!;
    expect(synth.status).toBe('failed_waiting');
    expect(synth.error?.message).toContain('is not vLLM: its /models card for "AdaptLLM/visual-instruction-synthesizer" has no root or max_model_len');
    expect(synth.error?.message).toContain('serve the model with vLLM');
    expect(s.bodies).toHaveLength(0);
    await handle.terminate('test done');

    // the judge's raw prompt works on any server, but its answers are cached only under a revision
    const judged = (model: Record<string, unknown>) => {
      const j = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter'] });
      Object.assign((j.stages as Record<string, Record<string, unknown>>).filter, { judge: 'model', model: { backend: 'openai', baseUrl: s.baseUrl, model: MODEL, ...model } });
      return j;
    };
    const unnamed = await startRun(h.client, judged({}));
    const refused = (await waitForProgress(h.client, unnamed.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'))).stages.find((x) => x.name === 'filter')!;
    expect(refused.error?.message).toContain('says nothing about the weights served as');
    expect(refused.error?.message).toContain("set the model's revision in the spec");
    await unnamed.terminate('test done');
    // one request in flight unless the spec says otherwise: such a server answers one at a time
    expect((await OpenAIBackend.connect({ baseUrl: s.baseUrl, model: MODEL })).limiter.limit).toBe(1);
    const named: RunProgress = await (await startRun(h.client, judged({ revision: 'smollm2-135m-q8' }))).result();
    expect(named.status).toBe('succeeded');
    expect(named.stages.find((x) => x.name === 'filter')!.counts).toMatchObject({ in: 4, failed: 0 });
  } finally {
    await s.close();
  }
}, 120_000);

test('a server down past the retries fails the stage, which waits; answers already written are neither lost nor asked again', async () => {
  const m = await markedDataset(10, 23, {});
  const s = await startFakeOpenAI({ model: MODEL, holdMs: 20 });
  let healthy = 4; // answers before the server goes down
  const answered: string[] = [];
  s.setAnswer((body) => {
    if (healthy <= 0) return { status: 503, text: 'down' };
    healthy--;
    answered.push(body);
    return { text: llamaTriplet(`What is dish ${hash(body)}?`) };
  });
  try {
    const spec = modelSpec(m, s, { pipeline: ['ingest', 'synthesize'], concurrency: 2, shardSize: 10, maxRetries: 1 });
    const handle = await startRun(h.client, spec);
    const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.find((x) => x.name === 'synthesize')?.status === 'failed_waiting', 90_000);
    expect(await h.db.synthTask.count({ where: { runId: waiting.runId } })).toBe(4);

    healthy = Infinity;
    await handle.signal('retryStage', { stage: 'synthesize' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.find((x) => x.name === 'synthesize')!.counts).toEqual({ in: 10, out: 10, filtered: 0, failed: 0 });
    expect(answered).toHaveLength(10);
    expect(new Set(answered).size).toBe(10);
  } finally {
    await s.close();
  }
}, 180_000);

test('a server that answers every request with the same 500 (a dead engine): the stage waits, naming it, instead of succeeding with nothing; fixed and retried, every request is asked again', async () => {
  const m = await markedDataset(6, 29, {});
  const s = await startFakeOpenAI({ model: MODEL });
  let dead = true;
  s.setAnswer((body) => (dead ? { status: 500, text: 'EngineCore encountered an issue' } : { text: llamaTriplet(`What is dish ${hash(body)}?`) }));
  try {
    const spec = modelSpec(m, s, { pipeline: ['ingest', 'synthesize', 'filter'], concurrency: 2, shardSize: 3, maxRetries: 1 });
    const handle = await startRun(h.client, spec);
    const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'), 90_000);
    const synth = waiting.stages.find((x) => x.name === 'synthesize')!;
    expect(synth.status).toBe('failed_waiting');
    expect(synth.error).toMatchObject({ type: 'EveryRequestFailed' });
    expect(synth.error!.message).toBe('synthesize: all 6 requests failed (server error: HTTP 500: EngineCore encountered an issue (the same on all 2 tries) ×6); fix the model, its server or the input, then retry the stage: the failed requests are asked again');
    // the failed rows are gone: nothing was done, and a retry asks again
    expect(await h.db.synthTask.count({ where: { runId: waiting.runId } })).toBe(0);

    dead = false;
    await handle.signal('retryStage', { stage: 'synthesize' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.find((x) => x.name === 'synthesize')!.counts).toEqual({ in: 6, out: 6, filtered: 0, failed: 0 });
  } finally {
    await s.close();
  }
}, 180_000);

test('a model that answers no benchmark row has no score, not a score of 0: evaluate waits, naming why; retried, the rows are asked again', async () => {
  const m = await markedDataset(2, 31, {});
  const s = await startFakeOpenAI({ model: MODEL });
  let dead = true;
  s.setAnswer(() => (dead ? { status: 500, text: 'EngineCore encountered an issue' } : { text: 'yes' }));
  try {
    const spec = specFor(m, { pipeline: ['ingest', 'evaluate'] });
    (spec.stages as Record<string, unknown>).evaluate = {
      retry: { maximumAttempts: 1, initialIntervalSeconds: 0.2 },
      benchmarks: [{ task: 'VQA_RAD', path: path.join(__dirname, '..', 'fixtures', 'benchmarks', 'vqa_rad.parquet') }],
      models: [{ kind: 'base', name: 'served-base', model: { backend: 'openai', baseUrl: s.baseUrl, model: MODEL, maxRetries: 1 } }],
    };
    const handle = await startRun(h.client, spec);
    const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'), 90_000);
    const ev = waiting.stages.find((x) => x.name === 'evaluate')!;
    expect(ev.error).toMatchObject({ type: 'EveryRequestFailed' });
    expect(ev.error!.message).toMatch(/^evaluate: VQA_RAD with served-base: all 5 requests failed \(server error: HTTP 500: EngineCore encountered an issue/);
    expect(await h.db.metric.count({ where: { runId: waiting.runId } })).toBe(0);

    dead = false;
    await handle.signal('retryStage', { stage: 'evaluate' });
    const done: RunProgress = await handle.result();
    expect(done.status).toBe('succeeded');
    expect(done.stages.find((x) => x.name === 'evaluate')!.counts).toMatchObject({ in: 5, out: 5, failed: 0 });
  } finally {
    await s.close();
  }
}, 180_000);
