// `adamllm serve` driven by the official `openai` npm client, as a user's own code would: a
// chat request with an image, the same request streamed (server-sent chunks whose deltas add up
// to the non-streamed text), a streamed text completion, and the 404 for another model name.
import fs from 'node:fs';
import path from 'node:path';
import OpenAI, { APIError } from 'openai';
import { ROOT, startServe } from '../helpers/processes';

const out = path.join(ROOT, 'models', 'out');
let serve: Awaited<ReturnType<typeof startServe>>;
let client: OpenAI;

beforeAll(async () => {
  serve = await startServe(path.join(out, 'qwen2vl-tiny'));
  client = new OpenAI({ baseURL: serve.baseUrl, apiKey: 'unused', maxRetries: 0 });
}, 60_000);
afterAll(() => serve.stop());

const image = () => `data:image/png;base64,${fs.readFileSync(path.join(out, 'reference_image.png')).toString('base64')}`;
const chat = (model = 'qwen2vl-tiny') => ({
  model,
  messages: [{ role: 'user' as const, content: [{ type: 'image_url' as const, image_url: { url: image() } }, { type: 'text' as const, text: 'Describe this image.' }] }],
  max_tokens: 24,
  temperature: 0,
});

test('chat: streamed deltas add up to the non-streamed answer, in several chunks ending with finish_reason and usage', async () => {
  const whole = await client.chat.completions.create(chat());
  expect(whole.object).toBe('chat.completion');
  expect(whole.model).toBe('qwen2vl-tiny');
  const text = whole.choices[0].message.content ?? '';
  expect(whole.choices[0].finish_reason).toMatch(/^(stop|length)$/);

  const stream = await client.chat.completions.create({ ...chat(), stream: true, stream_options: { include_usage: true } });
  const deltas: string[] = [];
  const finish: (string | null)[] = [];
  let usage: OpenAI.CompletionUsage | undefined | null;
  for await (const chunk of stream) {
    expect(chunk.object).toBe('chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      if (c.delta.content) deltas.push(c.delta.content);
      if (c.finish_reason) finish.push(c.finish_reason);
    }
  }
  expect(deltas.join('')).toBe(text);
  expect(text.length).toBeGreaterThan(0);
  expect(deltas.length).toBeGreaterThan(1); // token by token, not one piece at the end
  expect(finish).toEqual([whole.choices[0].finish_reason]);
  expect(usage).toEqual(whole.usage);
}, 120_000);

test('text completion: the streamed text equals the non-streamed one', async () => {
  const req = { model: 'qwen2vl-tiny', prompt: 'A bowl of soup', max_tokens: 12 };
  const whole = await client.completions.create(req);
  let streamed = '';
  for await (const chunk of await client.completions.create({ ...req, stream: true })) streamed += chunk.choices[0]?.text ?? '';
  expect(streamed).toBe(whole.choices[0].text);
}, 120_000);

test('another model name is a 404 in OpenAI error shape, streamed or not', async () => {
  for (const stream of [false, true]) {
    const err = await client.chat.completions.create({ ...chat('gpt-4o'), stream }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(APIError);
    expect(err).toMatchObject({ status: 404, type: 'invalid_request_error', param: 'model', code: 'model_not_found', message: expect.stringContaining('gpt-4o') });
  }
  const res = await fetch(`${serve.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(chat('nope')) });
  expect(res.status).toBe(404);
  expect(Object.keys(((await res.json()) as { error: object }).error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect((await client.models.list()).data.map((m) => m.id)).toEqual(['qwen2vl-tiny']);
  await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404 });
});
