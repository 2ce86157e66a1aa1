// `npm run bench:train`: the trainer on the tiny Qwen2-VL (CPU, fp32, full fine-tuning, vision
// tower frozen), one run each, figures printed with the machine. Needs
// `bash scripts/build-models.sh` first.
//
// 1. Training tokens/s against a plain transformers Trainer on the same examples and settings
//    (the baseline keeps every example's pixels in memory; ours decodes images in DataLoader
//    workers). Like for like: no gradient checkpointing on either side. Time is the training
//    loop only (no model load, tokenization or export).
// 2. Data phase memory: peak RSS of the trainer process and of its largest tokenizer process,
//    at BENCH_TRAIN_SMALL (2,000) and BENCH_TRAIN_LARGE (20,000) generated examples: flat is the
//    goal. Then the trainer's peak RSS after a few steps (model and loader included).
// 3. Tokenization examples/s with 1 and 2 processes (cold cache, BENCH_TRAIN_SMALL examples).
// 4. Padding waste over one epoch with and without length grouping.
// BENCH_TRAIN_EXAMPLES (256) and BENCH_TRAIN_EPOCHS (2) size part 1; BENCH_TRAIN_MODEL and
// BENCH_TRAIN_DEVICE change the model and device (with a GPU, part 1 measures the GPU path; the
// baseline stays on CPU).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRAINER_EXIT } from '../activities/trainer/trainer-events';
import { runTrainer, trainerPython, type TrainerEvent } from '../activities/trainer/trainer-process';
import { projectRoot } from '../cli/stack/paths';
import { toyTrainingSet } from '../samples/training-set';

const model = process.env.BENCH_TRAIN_MODEL ?? path.join(projectRoot(), 'models', 'out', 'qwen2vl-tiny');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-bench-train-'));
const mb = (bytes: unknown) => `${Math.round(Number(bytes) / 2 ** 20)} MB`;

function config(name: string, trainFile: string, extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify({
      base_model: model,
      train_file: trainFile,
      output_dir: path.join(dir, name),
      cache_dir: path.join(dir, `tokenized-${name}`),
      learning_rate: 1e-4,
      per_device_batch_size: 4,
      gradient_accumulation_steps: 2,
      warmup_ratio: 0.1,
      weight_decay: 0.1,
      max_length: 1024,
      save_steps: 100000,
      device: process.env.BENCH_TRAIN_DEVICE ?? 'cpu',
      gradient_checkpointing: false,
      export: { hf: false, onnx: false },
      ...extra,
    }),
  );
  return file;
}

async function run(file: string): Promise<TrainerEvent[]> {
  const r = await runTrainer(['train', '--config', file], { python: process.env.ADAMLLM_PYTHON });
  if (r.code !== TRAINER_EXIT.done) throw new Error(`trainer failed: ${JSON.stringify(r.events.at(-1))}\n${r.stderrTail}`);
  return r.events;
}
const only = (events: TrainerEvent[], kind: string) => events.filter((e) => e.event === kind);

async function speed() {
  const examples = Number(process.env.BENCH_TRAIN_EXAMPLES ?? 256);
  const epochs = Number(process.env.BENCH_TRAIN_EPOCHS ?? 2);
  const set = await toyTrainingSet(path.join(dir, 'speed'), examples);
  // images decoded in one DataLoader worker process (the trainer's path at scale), and in the
  // training process itself (dataloaderWorkers 0: on 2 cores a worker competes with the step)
  const ours = [];
  for (const workers of [1, 0]) {
    const events = await run(config(`adamllm-${workers}`, set.file, { epochs, dataloader_workers: workers }));
    const steps = only(events, 'step');
    const tokens = steps.reduce((a, s) => a + Number(s.tokens), 0);
    const seconds = steps.reduce((a, s) => a + Number(s.tokens) / Number(s.tokens_per_s), 0);
    ours.push({ workers, steps: steps.length, tokens, seconds, start: only(events, 'start')[0] });
  }
  const baseline = (mode: 'memory' | 'stream', workers: number) => {
    const out = execFileSync(trainerPython(process.env.ADAMLLM_PYTHON), [path.join(projectRoot(), 'bench', 'train_hf_trainer.py'), config(`baseline-${mode}-${workers}`, set.file, { epochs, dataloader_workers: workers }), mode], {
      env: { ...process.env, PYTHONPATH: path.join(projectRoot(), 'trainer') },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{"tokens"')).at(-1)!) as { tokens: number; seconds: number; tokens_per_s: number; steps: number };
  };
  console.log(`\n1. speed: ${examples} examples × ${epochs} epochs, global batch 8, ${ours[0].start.device} ${ours[0].start.dtype}, no gradient checkpointing`);
  for (const o of ours) {
    const rate = o.tokens / o.seconds;
    // like for like: the Trainer on the same data path (tokenized cache, images loaded per batch, same loader workers)
    const same = baseline('stream', o.workers);
    console.log(`   ${o.workers ? `${o.workers} loader worker` : 'loading in process'}: adamllm ${o.steps} steps, ${o.tokens} tokens in ${o.seconds.toFixed(2)} s = ${rate.toFixed(0)} tokens/s; transformers Trainer ${same.steps} steps, ${same.tokens_per_s.toFixed(0)} tokens/s; ratio ${(rate / same.tokens_per_s).toFixed(2)}`);
  }
  const mem = baseline('memory', 0);
  console.log(`   transformers Trainer with every example's pixels computed up front and kept in memory (what does not scale): ${mem.tokens_per_s.toFixed(0)} tokens/s`);
}

async function dataPhase() {
  const small = Number(process.env.BENCH_TRAIN_SMALL ?? 2000);
  const large = Number(process.env.BENCH_TRAIN_LARGE ?? 20000);
  console.log(`\n2./3. data phase (3 training steps after tokenization; tokenize_shard_size 1000)`);
  const rates: Record<number, unknown> = {};
  for (const n of [small, large]) {
    const set = await toyTrainingSet(path.join(dir, `data-${n}`), n);
    for (const workers of n === small ? [1, 2] : [2]) {
      const events = await run(config(`data-${n}-${workers}`, set.file, { max_steps: 3, tokenize_workers: workers }));
      const data = only(events, 'data')[0];
      const last = only(events, 'step').at(-1)!;
      if (n === small) rates[workers] = data.examples_per_s;
      console.log(`   ${String(n).padStart(6)} examples, ${workers} tokenizer process(es): ${data.examples_per_s} examples/s; peak RSS: trainer ${mb(data.rss_peak_bytes)} in tokenization, ${workers > 1 ? `largest tokenizer process ${mb(data.workers_rss_peak_bytes)}` : 'no tokenizer process'}, trainer ${mb(last.peak_memory_bytes)} after 3 steps`);
    }
    fs.rmSync(set.dir, { recursive: true, force: true });
  }
  console.log(`   tokenization speed-up with 2 processes: ${(Number(rates[2]) / Number(rates[1])).toFixed(2)}× (${os.cpus().length} cores)`);
}

async function padding() {
  const set = await toyTrainingSet(path.join(dir, 'padding'), 256);
  console.log(`\n4. padding waste over one epoch of 256 examples (global batch 8, micro-batch 4)`);
  for (const grouped of [false, true]) {
    const steps = only(await run(config(`pad-${grouped}`, set.file, { epochs: 1, group_by_length: grouped })), 'step');
    const waste = steps.reduce((a, s) => a + Number(s.padding_waste) * Number(s.tokens) / (1 - Number(s.padding_waste)), 0);
    const padded = steps.reduce((a, s) => a + Number(s.tokens) / (1 - Number(s.padding_waste)), 0);
    console.log(`   group_by_length ${grouped ? 'on ' : 'off'}: ${((100 * waste) / padded).toFixed(1)} % of the positions are padding`);
  }
}

async function main() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`bench:train on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; model ${path.basename(model)}`);
  await speed();
  await dataPhase();
  await padding();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
