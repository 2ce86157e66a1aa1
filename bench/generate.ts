// `npm run bench:generate`: tokens/s of the onnx backend (transformers.js on onnxruntime-node)
// against PyTorch transformers generate() on the same tiny models and prompts, greedy, 64 new
// tokens, text LM at batch 1 and 8 and Qwen2-VL at batch 1; one run, ratios printed. Needs
// `bash scripts/build-models.sh` first. At this model size both measure per-step overhead.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnxBackend } from '../activities/inference/onnx-backend';
import { projectRoot } from '../cli/stack/paths';
import { createDb } from '../activities/db/client';
import { ingestStage } from '../activities/ingest/ingest-stage';
import { ArtifactStore } from '../activities/store/artifact-store';
import { modelSynthesizeStage } from '../activities/synthesize/model-stage';
import { createDatabase, dropDatabase, migrate } from '../cli/stack/database';
import { parseRunSpec } from '../core/spec';
import { generateSample } from '../samples/generate';

const NEW = Number(process.env.BENCH_NEW_TOKENS ?? 64);
const REPEAT = 3;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up
  const t = performance.now();
  for (let i = 0; i < REPEAT; i++) await fn();
  return (performance.now() - t) / 1000 / REPEAT;
}

/** The model synthesize stage end to end (ingest first; no Temporal): items/s with a cold cache. */
async function synthesisThroughput(model: string) {
  const ITEMS = Number(process.env.BENCH_SYNTH_ITEMS ?? 16);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-bench-synth-'));
  const m = await generateSample({ dir, count: ITEMS, seed: 11 });
  const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const name = `adamllm_bench_synth_${process.pid}`;
  const url = await createDatabase(serverUrl, name);
  try {
    await migrate(url);
    const db = createDb(url, 4);
    const spec = parseRunSpec({
      version: 1,
      domain: 'bench',
      dataset: { format: m.format, path: m.annotationFile, imageRoot: m.imageRoot },
      stages: { synthesize: { synthesizer: 'model', model: { backend: 'onnx', path: model }, maxNewTokens: 128, batchSize: 4, cache: false } },
    });
    await db.run.create({ data: { id: 'bench', workflowId: 'bench', domain: 'bench', status: 'RUNNING', spec: spec as object, specHash: '-', specVersion: 1 } });
    const hooks = { heartbeat: () => undefined, resumeDetails: undefined, cancelled: new AbortController().signal };
    const base = { db, store: new ArtifactStore(path.join(dir, 'artifacts')), runId: 'bench', attempt: 1, spec, ...hooks };
    const ingest = { ...base, stage: 'ingest' as const, settings: spec.stages.ingest };
    const plan = await ingestStage.plan(ingest);
    for (let i = 0; i < plan.shardCount; i++) await ingestStage.shard!(ingest, i, plan.shardCount);
    await ingestStage.finalize(ingest);
    const synth = { ...base, stage: 'synthesize' as const, settings: spec.stages.synthesize };
    const t = performance.now();
    const sp = await modelSynthesizeStage.plan(synth);
    for (let i = 0; i < sp.shardCount; i++) await modelSynthesizeStage.shard!(synth, i, sp.shardCount);
    const result = await modelSynthesizeStage.finalize(synth);
    const secs = (performance.now() - t) / 1000;
    await db.$disconnect();
    return { items: ITEMS, maxNewTokens: 128, seconds: Math.round(secs * 100) / 100, itemsPerSecond: Math.round((ITEMS / secs) * 100) / 100, ledger: result.outputs };
  } finally {
    await dropDatabase(serverUrl, name);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const out = path.join(projectRoot(), 'models', 'out');
  if (!fs.existsSync(path.join(out, 'reference_image.png'))) throw new Error('run `bash scripts/build-models.sh` first');
  const never = { maxNewTokens: NEW, ignoreEos: true, stopTokenIds: [-1] };
  const lm = await onnxBackend(path.join(out, 'qwen2-tiny'), process.env.ADAMLLM_ONNX_DEVICE);
  const prompts = Array.from({ length: 8 }, (_, i) => ({ prompt: `Prompt number ${i}: the weather today is` }));
  const onnx: Record<string, number> = {};
  for (const b of [1, 8]) onnx[`text_batch${b}`] = (b * NEW) / (await timed(() => lm.generate(prompts.slice(0, b), never)));
  const vl = await onnxBackend(path.join(out, 'qwen2vl-tiny'), process.env.ADAMLLM_ONNX_DEVICE);
  const image = fs.readFileSync(path.join(out, 'reference_image.png'));
  const prompt = '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n<|im_start|>assistant\n';
  onnx.vision_batch1 = NEW / (await timed(() => vl.generate([{ prompt, images: [image] }], never)));

  const py = path.join(projectRoot(), '.venv-models', 'bin', 'python');
  const torch = JSON.parse(
    execFileSync(py, [path.join(projectRoot(), 'bench', 'generate_pytorch.py'), out, String(NEW)], { encoding: 'utf8', env: { ...process.env, HF_HUB_DISABLE_PROGRESS_BARS: '1' }, stdio: ['ignore', 'pipe', 'ignore'] })
      .trim()
      .split('\n')
      .pop()!,
  );
  const round = (x: number) => Math.round(x * 10) / 10;
  const rows = Object.keys(onnx).map((k) => ({ case: k, onnxTokensPerSecond: round(onnx[k]), pytorchTokensPerSecond: round(torch.tokensPerSecond[k]), ratio: Math.round((onnx[k] / torch.tokensPerSecond[k]) * 100) / 100 }));
  const synthesis = await synthesisThroughput(path.join(out, 'qwen2vl-tiny'));
  process.stdout.write(`${JSON.stringify({ machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, node ${process.version}, torch ${torch.torch} (${torch.threads} threads)`, newTokens: NEW, rows, synthesis }, null, 2)}\n`);
  await lm.dispose();
  await vl.dispose();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
