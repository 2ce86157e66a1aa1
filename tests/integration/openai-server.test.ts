// `adamllm serve` driven by the official `openai` npm client, as a user's own code would: a
// chat request with an image, the same request streamed (server-sent chunks whose deltas add up
// to the non-streamed text), a streamed text completion, and the 404 for another model name.
// Then the points where it answers as vLLM does (activities/inference/vllm-semantics.ts): unset
// sampling fields filled from the folder's generation_config.json, chat rendered with the
// folder's template, vLLM's 400s, and POST /tokenize.
import fs from 'node:fs';
import os from 'node:os';
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
  const req = { model: 'qwen2vl-tiny', prompt: 'A bowl of soup', max_tokens: 12, temperature: 0 };
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

/** A copy of the tiny model folder, changed by `edit` (it gets the copy's path). */
async function folderCopy(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = path.join(await fs.promises.mkdtemp(path.join(os.tmpdir(), 'serve-copy-')), 'qwen2vl-tiny');
  await fs.promises.cp(path.join(out, 'qwen2vl-tiny'), dir, { recursive: true });
  await edit(dir);
  return dir;
}

async function editJson(file: string, extra: Record<string, unknown>) {
  await fs.promises.writeFile(file, JSON.stringify({ ...JSON.parse(await fs.promises.readFile(file, 'utf8')), ...extra }));
}

test('sampling fields a request leaves unset come from generation_config.json, else vLLM\'s defaults, as vLLM fills them', async () => {
  // no temperature anywhere: vLLM samples at 1.0, which this greedy server refuses, naming why
  const unset = await client.completions.create({ model: 'qwen2vl-tiny', prompt: 'A bowl of soup', max_tokens: 4 }).catch((e: unknown) => e);
  expect(unset).toMatchObject({ status: 400, message: expect.stringContaining("unset in the request: vLLM's default gives 1") });

  // a folder like a released Qwen2-VL's: greedy, with a repetition penalty (theirs is 1.05)
  const dir = await folderCopy((d) => editJson(path.join(d, 'generation_config.json'), { temperature: 0, repetition_penalty: 1.5 }));
  const penalised = await startServe(dir);
  try {
    const c = new OpenAI({ baseURL: penalised.baseUrl, apiKey: 'unused', maxRetries: 0 });
    const ask = async (extra: Record<string, unknown>) => (await c.chat.completions.create({ ...chat(), max_tokens: 32, ...extra })).choices[0].message.content;
    const { temperature: _, ...noTemperature } = chat();
    const filledIn = (await c.chat.completions.create({ ...noTemperature, max_tokens: 32 })).choices[0].message.content;
    expect(filledIn).toBe(await ask({ repetition_penalty: 1.5 }));
    const neutral = await ask({ repetition_penalty: 1 });
    expect(neutral).toBe((await client.chat.completions.create({ ...chat(), max_tokens: 32 })).choices[0].message.content);
    expect(filledIn).not.toBe(neutral); // the penalty the folder carries changed the greedy answer
  } finally {
    penalised.stop();
    await fs.promises.rm(path.dirname(dir), { recursive: true, force: true });
  }
}, 120_000);

const tokenize = async (body: Record<string, unknown>) => {
  const res = await fetch(`${serve.baseUrl.replace(/\/v1$/, '')}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'qwen2vl-tiny', ...body }) });
  return { status: res.status, body: (await res.json()) as { tokens: number[]; count: number; max_model_len: number | null; error?: { message: string } } };
};

test('chat is rendered with the folder\'s own template: /tokenize of the messages equals the prompt Qwen2-VL\'s template writes', async () => {
  const messages = chat().messages;
  const rendered =
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n';
  const viaChat = await tokenize({ messages });
  const viaPrompt = await tokenize({ prompt: rendered, add_special_tokens: false });
  expect(viaChat.status).toBe(200);
  expect(viaChat.body.tokens).toEqual(viaPrompt.body.tokens);
  expect(viaChat.body.count).toBe(viaChat.body.tokens.length);
  expect(viaChat.body.max_model_len).toBeGreaterThan(0);
  // continue_final_message: the prompt stops where the final message's text ends, turn left open
  const open = await tokenize({ messages: [...messages, { role: 'assistant', content: 'A bowl' }], continue_final_message: true, add_generation_prompt: false });
  expect(open.body.tokens).toEqual((await tokenize({ prompt: `${rendered}A bowl`, add_special_tokens: false })).body.tokens);
});

test('vLLM\'s 400s: both continue_final_message and add_generation_prompt, a chat_template in the request, an image with no placeholder', async () => {
  const bad = async (extra: Record<string, unknown>, messages: unknown = chat().messages) =>
    client.chat.completions.create({ ...chat(), messages, ...extra } as never).then(
      () => null,
      (e: unknown) => e,
    );
  expect(await bad({ continue_final_message: true })).toMatchObject({ status: 400, message: expect.stringContaining('Cannot set both `continue_final_message` and `add_generation_prompt`') });
  expect(await bad({ chat_template: '{{ messages }}' })).toMatchObject({ status: 400, message: expect.stringContaining('--trust-request-chat-template') });
  expect(await bad({ mm_processor_kwargs: { max_pixels: 1000 } })).toMatchObject({ status: 400, message: expect.stringContaining('mm_processor_kwargs') });
});

test('an image whose placeholder the folder\'s template does not write is refused as vLLM refuses it', async () => {
  // like a checkpoint template that writes images as a literal "<image>": text parts only here
  const dir = await folderCopy((d) => editJson(path.join(d, 'tokenizer_config.json'), { chat_template: "{% for m in messages %}{% for p in m['content'] %}{% if p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endfor %}" }));
  const textOnly = await startServe(dir);
  try {
    const c = new OpenAI({ baseURL: textOnly.baseUrl, apiKey: 'unused', maxRetries: 0 });
    await expect(c.chat.completions.create(chat())).rejects.toMatchObject({ status: 400, message: expect.stringContaining('Failed to apply prompt replacement') });
  } finally {
    textOnly.stop();
    await fs.promises.rm(path.dirname(dir), { recursive: true, force: true });
  }
}, 60_000);
