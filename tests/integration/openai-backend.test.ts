// The openai backend against a real OpenAI-compatible server, `adamllm serve` on the tiny
// Qwen2-VL: the chat form of a prompt gives the same text as the in-process onnx backend on the
// raw prompt; 503s are retried with backoff; the API key goes only into the Authorization header;
// a 400 is not retried.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { OpenAIBackend } from '../../activities/inference/openai-backend';
import { ROOT, runTs, startServe } from '../helpers/processes';

const out = path.join(ROOT, 'models', 'out');
let serve: Awaited<ReturnType<typeof startServe>>;
let port: number;

beforeAll(async () => {
  serve = await startServe(path.join(out, 'qwen2vl-tiny'));
  port = serve.port;
}, 60_000);
afterAll(() => serve.stop());

const evalChat = {
  messages: [{ role: 'user' as const, content: [{ type: 'image' as const, index: 0 }, { type: 'text' as const, text: 'Describe this image.' }] }],
  addGenerationPrompt: true,
  continueFinalMessage: false,
};

test('chat through `adamllm serve` equals the onnx backend on the raw prompt', async () => {
  const local = JSON.parse((await runTs('tests/helpers/onnx-backend-run.ts', [out])).stdout);
  const image = fs.readFileSync(path.join(out, 'reference_image.png'));
  const backend = new OpenAIBackend({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'qwen2vl-tiny' });
  const [r] = await backend.generate([{ prompt: '', chat: evalChat, images: [image] }], { maxNewTokens: 16, ignoreEos: true, stopTokenIds: [-1], keepSpecialTokens: true });
  expect(r.text).toBe(local.vision[0].text);
  expect(r).toMatchObject({ finishReason: 'length', promptTokens: local.vision[0].promptTokens, completionTokens: 16 });
  expect(backend.identity).toBe(`openai:http://127.0.0.1:${port}/v1#qwen2vl-tiny`);
}, 120_000);

test('429/5xx are retried with backoff, the key goes only into Authorization, 4xx fails at once', async () => {
  const seen: { auth?: string; body: string }[] = [];
  let failuresLeft = 2;
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ auth: req.headers.authorization, body });
      if (failuresLeft-- > 0) {
        res.writeHead(failuresLeft === 1 ? 503 : 429).end('busy');
        return;
      }
      const up = http.request({ host: '127.0.0.1', port, path: req.url, method: 'POST', headers: { 'content-type': 'application/json' } }, (u) => {
        res.writeHead(u.statusCode ?? 500, u.headers);
        u.pipe(res);
      });
      up.end(body);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  try {
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/v1`;
    const backend = new OpenAIBackend({ baseUrl: base, model: 'qwen2vl-tiny', apiKey: 'sk-test-secret', retryDelayMs: 20 });
    const image = fs.readFileSync(path.join(out, 'reference_image.png'));
    const [r] = await backend.generate([{ prompt: '', chat: evalChat, images: [image] }], { maxNewTokens: 4 });
    expect(typeof r.text).toBe('string');
    expect(seen).toHaveLength(3);
    expect(seen.every((s) => s.auth === 'Bearer sk-test-secret')).toBe(true);
    expect(seen.some((s) => s.body.includes('sk-test-secret'))).toBe(false);
    expect(JSON.parse(seen[2].body)).toMatchObject({ temperature: 0, add_generation_prompt: true, continue_final_message: false, skip_special_tokens: true });
    expect(backend.identity).not.toContain('sk-test');

    // A request the server refuses (not greedy) is a 400: reported at once, not retried.
    const direct = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'hi' }], temperature: 0.7 }) });
    expect(direct.status).toBe(400);
    expect(((await direct.json()) as { error: { message: string } }).error.message).toContain('only greedy decoding');
    failuresLeft = 0;
    seen.length = 0;
    const refusing = http.createServer((_req, res) => {
      seen.push({ body: '' });
      res.writeHead(400).end('{"error":{"message":"bad"}}');
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', () => r()));
    const bad = new OpenAIBackend({ baseUrl: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1`, model: 'm', retryDelayMs: 20 });
    await expect(bad.generate([{ prompt: '', chat: evalChat, images: [image] }], { maxNewTokens: 4 })).rejects.toThrow('HTTP 400');
    expect(seen).toHaveLength(1);
    refusing.close();
  } finally {
    proxy.close();
  }
}, 120_000);
