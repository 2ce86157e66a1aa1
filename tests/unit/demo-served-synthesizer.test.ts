// `demo --synthesizer-vllm <url>` (demo/served-synthesizer.ts): the server the user gives is
// read from its /v1/models card (tests/helpers/fake-openai.ts writes vLLM's and a bare one), and
// one that cannot be the demo's synthesizer is refused before any run starts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveSynthesizer } from '../../demo/served-synthesizer';
import { startFakeOpenAI } from '../helpers/fake-openai';

const HF = '/state/artifacts/train-model/abc/hf';

test('a vLLM server given by URL: its one model, a note when it loaded another path, left running at stop', async () => {
  const server = await startFakeOpenAI({ model: 'synth', root: '/elsewhere/hf' });
  try {
    const notes: string[] = [];
    const s = await serveSynthesizer({ url: `${server.baseUrl}/`, hf: HF, say: (l) => notes.push(l) });
    expect(s).toMatchObject({ baseUrl: server.baseUrl, model: 'synth' });
    expect(notes.join('\n')).toContain('serves /elsewhere/hf');
    await s.stop();
    expect((await fetch(`${server.baseUrl}/models`)).ok).toBe(true);

    const quiet: string[] = [];
    const same = await startFakeOpenAI({ model: 'synth', root: HF });
    try {
      await serveSynthesizer({ url: same.baseUrl, hf: HF, say: (l) => quiet.push(l) });
      expect(quiet).toEqual([]);
    } finally {
      await same.close();
    }
  } finally {
    await server.close();
  }
});

test('a URL that is no OpenAI server, or one serving several models, is refused with what to give', async () => {
  await expect(serveSynthesizer({ url: 'http://127.0.0.1:9/v1', hf: HF, say: () => undefined })).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:9\/v1\/models failed .*base URL, ending \/v1/);
  const two = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data: [{ id: 'a' }, { id: 'b' }] }));
  });
  await new Promise<void>((r) => two.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(two.address() as AddressInfo).port}/v1`;
    await expect(serveSynthesizer({ url, hf: HF, say: () => undefined })).rejects.toThrow(/must serve exactly one model .*it lists 2/);
  } finally {
    await new Promise((r) => two.close(r));
  }
});

test('without a URL and without the vLLM venv: the error says how to get one', async () => {
  const before = process.env.ADAMLLM_VLLM_PYTHON;
  process.env.ADAMLLM_VLLM_PYTHON = '/nonexistent/python';
  try {
    await expect(serveSynthesizer({ hf: HF, say: () => undefined })).rejects.toThrow(/setup-vllm\.sh.*or start vLLM on \/state\/artifacts\/train-model\/abc\/hf yourself and pass its URL/);
  } finally {
    if (before === undefined) delete process.env.ADAMLLM_VLLM_PYTHON;
    else process.env.ADAMLLM_VLLM_PYTHON = before;
  }
});
