// `npm run bench:train`: training tokens/s of adamllm's trainer against a plain transformers
// Trainer on the same tiny Qwen2-VL, the same tokenized examples and the same settings (CPU,
// fp32, full fine-tuning, vision tower frozen); one run each, ratio printed. Needs
// `bash scripts/build-models.sh` first. Tokens are every input token of every step (both
// consume each example once per epoch); time is the training loop only (no model load, no
// tokenization, no export). BENCH_TRAIN_EXAMPLES (64), BENCH_TRAIN_EPOCHS (2),
// BENCH_TRAIN_MODEL (the tiny model) and BENCH_TRAIN_DEVICE (cpu) change the setup; with a GPU
// and a real model folder the same script measures the GPU path (the baseline stays on CPU:
// run it there with use_cpu removed to compare like for like).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runTrainer, trainerPython } from '../activities/train/trainer-process';
import { projectRoot } from '../cli/stack/paths';
import { toyTrainingSet } from '../samples/training-set';

async function main() {
  const examples = Number(process.env.BENCH_TRAIN_EXAMPLES ?? 64);
  const epochs = Number(process.env.BENCH_TRAIN_EPOCHS ?? 2);
  const model = process.env.BENCH_TRAIN_MODEL ?? path.join(projectRoot(), 'models', 'out', 'qwen2vl-tiny');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-bench-train-'));
  const set = await toyTrainingSet(path.join(dir, 'data'), examples);
  const config = (name: string) => {
    const file = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        base_model: model,
        train_file: set.file,
        output_dir: path.join(dir, name),
        cache_dir: path.join(dir, 'tokenized'),
        learning_rate: 1e-4,
        epochs,
        per_device_batch_size: 4,
        gradient_accumulation_steps: 2,
        warmup_ratio: 0.1,
        weight_decay: 0.1,
        max_length: 1024,
        save_steps: 100000,
        device: process.env.BENCH_TRAIN_DEVICE ?? 'cpu',
        export: { hf: false, onnx: false },
      }),
    );
    return file;
  };

  const ours = await runTrainer(['train', '--config', config('adamllm')]);
  if (ours.code !== 0) throw new Error(`trainer failed: ${JSON.stringify(ours.events.at(-1))}\n${ours.stderrTail}`);
  const steps = ours.events.filter((e) => e.event === 'step');
  const tokens = steps.reduce((a, s) => a + Number(s.tokens), 0);
  const seconds = steps.reduce((a, s) => a + Number(s.tokens) / Number(s.tokens_per_s), 0);
  const start = ours.events.find((e) => e.event === 'start')!;

  const out = execFileSync(trainerPython(), [path.join(projectRoot(), 'bench', 'train_hf_trainer.py'), config('baseline')], {
    env: { ...process.env, PYTHONPATH: path.join(projectRoot(), 'trainer') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const base = JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{"tokens"')).at(-1)!) as { tokens: number; seconds: number; tokens_per_s: number; steps: number };

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`bench:train on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; model ${path.basename(model)}, ${examples} examples × ${epochs} epochs, global batch 8, ${start.device} ${start.dtype}`);
  console.log(`adamllm trainer:     ${steps.length} steps, ${tokens} tokens in ${seconds.toFixed(2)} s = ${(tokens / seconds).toFixed(0)} tokens/s`);
  console.log(`transformers Trainer: ${base.steps} steps, ${base.tokens} tokens in ${base.seconds.toFixed(2)} s = ${base.tokens_per_s.toFixed(0)} tokens/s`);
  console.log(`ratio (adamllm / Trainer): ${(tokens / seconds / base.tokens_per_s).toFixed(2)}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
