// Scaling out on a server: two worker processes on the remote queue serve one run, each with its
// own limiter for the endpoint, so the server sees the sum of their `concurrency` in flight and
// never more.
import type { RunProgress } from '../../core/types';
import { llamaTriplet, startFakeOpenAI } from '../helpers/fake-openai';
import { harness, tempDir, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun } from '../helpers/runs';
import { killWorkerProcesses, startWorkerProcess } from '../helpers/worker-process';

const MODEL = 'AdaptLLM/visual-instruction-synthesizer';
let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers(['workflow', 'cpu']);
  // one shard at a time per process: with two shards ready, each process must take one
  for (let i = 0; i < 2; i++) await startWorkerProcess(tempDir('remote-artifacts'), 'remote', { ADAMLLM_REMOTE_CONCURRENCY: '1' });
}, 60_000);
afterAll(async () => {
  killWorkerProcesses();
  await h.close();
});

test('two remote worker processes: in flight at the server is the sum of their limiters', async () => {
  const m = await sampleDataset({ count: 24, seed: 31, format: 'jsonl' });
  const s = await startFakeOpenAI({ model: MODEL, holdMs: 300 });
  s.setAnswer((body) => ({ text: llamaTriplet(`What is dish ${body.length}-${body.slice(-40)}?`) }));
  try {
    const spec = specFor(m, { pipeline: ['ingest', 'synthesize'] });
    Object.assign((spec.stages as Record<string, Record<string, unknown>>).synthesize, {
      synthesizer: 'model',
      promptFormat: 'llava-llama3',
      model: { backend: 'openai', baseUrl: s.baseUrl, model: MODEL, concurrency: 3 },
      shardSize: 6,
      shardConcurrency: 4,
    });
    const run: RunProgress = await (await startRun(h.client, spec)).result();
    expect(run.status).toBe('succeeded');
    expect(run.stages.find((x) => x.name === 'synthesize')!.counts).toMatchObject({ in: 24, failed: 0 });
    expect(s.bodies).toHaveLength(24);
    expect(s.maxInFlight).toBe(6);
  } finally {
    await s.close();
  }
}, 120_000);
