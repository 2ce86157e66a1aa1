// The Python trainer on the tiny Qwen2-VL, on CPU, driven as the train activity drives it (a
// subprocess streaming JSON lines). The toy set has 8 images; the thresholds are stated here.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runTrainer as launch, trainerPython as pythonFor, type TrainerEvent, type TrainerOptions } from '../../activities/trainer/trainer-process';
import { tempDir } from '../helpers/env';
import { toyTrainingSet } from '../helpers/training-set';

// the interpreter a worker would take from its ADAMLLM_PYTHON (a CUDA venv on a GPU machine)
const trainerPython = () => pythonFor(process.env.ADAMLLM_PYTHON);
const runTrainer = (args: string[], o: TrainerOptions = {}) => launch(args, { python: process.env.ADAMLLM_PYTHON, ...o });

const tinyVL = path.join(__dirname, '..', '..', 'models', 'out', 'qwen2vl-tiny');
let set: { dir: string; file: string };
beforeAll(async () => {
  set = await toyTrainingSet();
});

function config(overrides: Record<string, unknown> = {}): { file: string; out: string } {
  const out = tempDir('train-out');
  const cfg = {
    base_model: tinyVL,
    train_file: set.file,
    output_dir: out,
    learning_rate: 1e-3,
    epochs: 10,
    per_device_batch_size: 2,
    gradient_accumulation_steps: 2,
    warmup_ratio: 0.1,
    weight_decay: 0,
    max_length: 512,
    save_steps: 5,
    seed: 1,
    export: { hf: false, onnx: false },
    ...overrides,
  };
  const file = path.join(out, 'config.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  return { file, out };
}

const only = (events: TrainerEvent[], kind: string) => events.filter((e) => e.event === kind);

test('full fine-tuning overfits the toy set (final loss ≤ 0.75 × first) and the export reproduces PyTorch greedy in ONNX (weights in external data files)', async () => {
  const { file, out } = config({ export: { hf: true, onnx: true, validate_prompts: 3 } });
  // every graph's weights above 0 bytes go to <name>.onnx_data, as a 2B model's decoder must
  const r = await runTrainer(['train', '--config', file], { env: { ADAMLLM_ONNX_EXTERNAL_DATA_ABOVE: '0' } });
  expect(r.code).toBe(0);
  const start = only(r.events, 'start')[0];
  expect(start).toMatchObject({ examples: 8, total_steps: 20, step: 0, device: 'cpu', dtype: 'float32', finetuning: 'full', global_batch: 4 });
  const steps = only(r.events, 'step');
  expect(steps.map((s) => s.step)).toEqual([...Array(20).keys()].map((i) => i + 1));
  for (const s of steps) expect(s).toMatchObject({ loss: expect.any(Number), lr: expect.any(Number), tokens_per_s: expect.any(Number) });
  // cosine with 2 warmup steps (10% of 20): 0 at the first step, the peak at the third, falling after
  expect(steps[0].lr).toBe(0);
  expect(steps[2].lr).toBeCloseTo(1e-3, 12);
  expect(Number(steps[19].lr)).toBeLessThan(Number(steps[10].lr));
  const done = only(r.events, 'done')[0];
  expect(Number(done.final_loss)).toBeLessThanOrEqual(0.75 * Number(done.first_loss));
  expect(only(r.events, 'checkpoint').map((c) => c.step)).toEqual([5, 10, 15, 20]);
  // save_total_limit 1: only the newest checkpoint stays
  expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual(['step-0000020']);
  // the export: HF folder with the base's tokenizer, chat template, processor and generation config; ONNX in the transformers.js layout
  expect(done.validation).toMatchObject({ prompts: 3, greedy_equal: true });
  expect(Number((done.validation as Record<string, number>).max_first_logit_diff)).toBeLessThan(1e-3);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja', 'preprocessor_config.json', 'generation_config.json']) expect(fs.existsSync(path.join(out, 'hf', f))).toBe(true);
  for (const f of ['onnx/vision_encoder.onnx', 'onnx/embed_tokens.onnx', 'onnx/decoder_model_merged.onnx', 'tokenizer.json', 'preprocessor_config.json']) expect(fs.existsSync(path.join(out, 'onnx', f))).toBe(true);
  expect(fs.readFileSync(path.join(out, 'hf', 'chat_template.jinja'), 'utf8')).toBe(fs.readFileSync(path.join(tinyVL, 'chat_template.jinja'), 'utf8'));
  for (const g of ['vision_encoder', 'embed_tokens', 'decoder_model_merged']) expect(fs.statSync(path.join(out, 'onnx', 'onnx', `${g}.onnx_data`)).size).toBeGreaterThan(1000);
  expect(JSON.parse(fs.readFileSync(path.join(out, 'onnx', 'config.json'), 'utf8'))['transformers.js_config'].use_external_data_format).toEqual({ 'vision_encoder.onnx': 1, 'embed_tokens.onnx': 1, 'decoder_model_merged.onnx': 1 });

  // The validation fails loudly when the ONNX folder is not this model (the untrained base's graphs).
  const bad = await runTrainer(['validate', '--config', file, '--onnx', tinyVL]);
  expect(bad.code).toBe(3);
  expect(only(bad.events, 'error')[0]).toMatchObject({ type: 'export', message: expect.stringContaining('ONNX export does not reproduce PyTorch') });
}, 240_000);

test('LoRA (vision tower frozen) overfits too, with far fewer trainable parameters, and merges for export', async () => {
  const full = (await runTrainer(['train', '--config', config({ max_steps: 1 }).file])).events.find((e) => e.event === 'start')!;
  const { file } = config({ finetuning: 'lora', learning_rate: 5e-3, lora: { r: 8, alpha: 16, dropout: 0 }, export: { hf: true, onnx: true, validate_prompts: 1 } });
  const r = await runTrainer(['train', '--config', file]);
  expect(r.code).toBe(0);
  const start = only(r.events, 'start')[0];
  expect(Number(start.trainable_params)).toBeLessThan(Number(full.trainable_params) / 10);
  const done = only(r.events, 'done')[0];
  expect(Number(done.final_loss)).toBeLessThanOrEqual(0.9 * Number(done.first_loss));
  expect(done.validation).toMatchObject({ greedy_equal: true });
}, 240_000);

test('SIGKILL mid-training: the restart resumes from the newest checkpoint and ends at the same step with the same loss (|Δ| ≤ 1e-4)', async () => {
  const reference = await runTrainer(['train', '--config', config().file]);
  const refLosses = only(reference.events, 'step').map((s) => Number(s.loss));

  const { file } = config();
  const first = await runTrainer(['train', '--config', file], { onEvent: (e, child) => e.event === 'checkpoint' && e.step === 10 && child.kill('SIGKILL') });
  expect(first.signal).toBe('SIGKILL');
  const second = await runTrainer(['train', '--config', file]);
  expect(second.code).toBe(0);
  const start = only(second.events, 'start')[0];
  expect(Number(start.step)).toBeGreaterThanOrEqual(10);
  expect(String(start.resumed_from)).toMatch(/step-00000(10|15)$/);
  const steps = only(second.events, 'step');
  expect(steps.at(-1)!.step).toBe(20);
  expect(Math.abs(Number(steps.at(-1)!.loss) - refLosses[19])).toBeLessThanOrEqual(1e-4);
}, 240_000);

test('SIGTERM (a cancelled activity) checkpoints the current step and exits 143; a bad config exits 2 naming the setting', async () => {
  const { file, out } = config({ save_steps: 100 });
  const r = await runTrainer(['train', '--config', file], { onEvent: (e, child) => e.event === 'step' && e.step === 3 && child.kill('SIGTERM') });
  expect(r.code).toBe(143);
  const stopped = only(r.events, 'stopped')[0];
  expect(stopped).toMatchObject({ total_steps: 20 });
  const at = Number(stopped.step);
  expect(only(r.events, 'checkpoint').map((c) => c.step)).toEqual([at]);
  expect(fs.readdirSync(path.join(out, 'checkpoints'))).toEqual([`step-${String(at).padStart(7, '0')}`]);
  // the second run reuses the tokenized set instead of tokenizing again
  const again = await runTrainer(['train', '--config', file]);
  expect(only(again.events, 'data')[0]).toMatchObject({ cache: 'hit', examples: 8 });
  expect(only(again.events, 'start')[0]).toMatchObject({ step: at });

  const bad = config({ finetuning: 'qlora', learning_rate: -1, bogus: 1 });
  const b = await runTrainer(['train', '--config', bad.file]);
  expect(b.code).toBe(2);
  expect(only(b.events, 'error')[0]).toMatchObject({ type: 'config', message: 'config: unknown setting bogus' });
  const bad2 = config({ finetuning: 'qlora', learning_rate: -1 });
  const b2 = await runTrainer(['train', '--config', bad2.file]);
  expect(only(b2.events, 'error')[0].message).toBe("finetuning: 'qlora' is not full or lora; learning_rate: must be positive");
  const bad3 = config({ attn_implementation: 'flash_attention_2', strategy: 'zero3', tokenize_workers: -1 });
  const b3 = await runTrainer(['train', '--config', bad3.file]);
  expect(b3.code).toBe(2);
  expect(only(b3.events, 'error')[0].message).toBe(
    'attn_implementation: flash_attention_2 needs the flash-attn package, which is not installed in this Python (pip install flash-attn, on a GPU machine); strategy: \'zero3\' is not ddp or fsdp; tokenize_workers: must be 0 (one per CPU) or a positive integer',
  );
}, 240_000);

test('loss masking: only the assistant turns (caption, answer, each with its <|im_end|>) carry labels', async () => {
  const { file } = config();
  const r = await runTrainer(['inspect', '--config', file, '--row', '0']);
  expect(r.code).toBe(0);
  const ex = r.events[0] as unknown as { tokens: string[]; input_ids: number[]; labels: number[]; labelled_text: string; image_grid_thw: number[][] };
  expect(ex.labelled_text).toBe('the cat sees a blue box<|im_end|>\nbox<|im_end|>\n');
  // labels equal the ids where set; the labelled positions are exactly the two assistant spans
  const labelled = ex.labels.map((l, i) => (l === -100 ? null : i)).filter((i): i is number => i !== null);
  for (const i of labelled) expect(ex.labels[i]).toBe(ex.input_ids[i]);
  // byte-level BPE token texts back to characters (Ġ = space, Ċ = newline)
  const text = (from: number, to: number) => ex.tokens.slice(from, to).join('').replace(/Ġ/g, ' ').replace(/Ċ/g, '\n');
  const spans: [number, number][] = [];
  for (const i of labelled) {
    if (spans.length && spans.at(-1)![1] === i) spans.at(-1)![1] = i + 1;
    else spans.push([i, i + 1]);
  }
  expect(spans.map(([a, b]) => text(a, b))).toEqual(['the cat sees a blue box<|im_end|>\n', 'box<|im_end|>\n']);
  // unlabelled: the system turn, the user turns (image included) and each assistant header
  expect(text(0, spans[0][0])).toMatch(/^<\|im_start\|>system\nYou are a helpful assistant\.<\|im_end\|>\n<\|im_start\|>user\n<\|vision_start\|>(<\|image_pad\|>)+<\|vision_end\|>\nDescribe the image\.<\|im_end\|>\n<\|im_start\|>assistant\n$/);
  expect(text(spans[0][1], spans[1][0])).toBe('<|im_start|>user\nWhat is in the picture?<|im_end|>\n<|im_start|>assistant\n');
  expect(spans[1][1]).toBe(ex.tokens.length);
  // the image: one <|image_pad|> per merged 2x2 patch block
  const pads = ex.tokens.filter((t) => t === '<|image_pad|>').length;
  expect(pads).toBe((ex.image_grid_thw[0][0] * ex.image_grid_thw[0][1] * ex.image_grid_thw[0][2]) / 4);
  expect(ex.labels.filter((l, i) => l !== -100 && ex.tokens[i] === '<|image_pad|>')).toEqual([]);
}, 120_000);

const diffWeights = (base: string, other: string) =>
  JSON.parse(execFileSync(trainerPython(), ['-m', 'adamllm_trainer', 'diff-weights', '--base', base, '--checkpoint', other], { env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', '..', 'trainer') }, encoding: 'utf8' })) as Record<
    'vision' | 'language',
    { tensors: number; changed_tensors: number; changed_element_fraction: number }
  >;

test('bf16 autocast keeps fp32 master weights: 3 steps at lr 1e-5 change every trainable tensor, the vision tower stays bit-identical; the HF export is sharded safetensors in the base dtype', async () => {
  const { file, out } = config({ precision: 'bf16', learning_rate: 1e-5, warmup_ratio: 0, max_steps: 3, export: { hf: true, onnx: false, max_shard_size: '1MB' } });
  const r = await runTrainer(['train', '--config', file]);
  expect(r.code).toBe(0);
  expect(only(r.events, 'start')[0]).toMatchObject({ dtype: 'bfloat16', master_weights: 'float32' });
  // the checkpoint holds the fp32 master weights: all of them moved (elements whose gradient is
  // zero, the embedding rows of tokens the toy set never uses, cannot move)
  const master = diffWeights(tinyVL, path.join(out, 'checkpoints', 'step-0000003'));
  expect(master.language.changed_tensors).toBe(master.language.tensors);
  expect(master.language.changed_element_fraction).toBeGreaterThan(0.5);
  expect(master.vision.tensors).toBe(0); // frozen: not in the checkpoint
  const exported = diffWeights(tinyVL, path.join(out, 'hf'));
  expect(exported.vision.tensors).toBeGreaterThan(10);
  expect(exported.vision.changed_tensors).toBe(0);
  expect(exported.language.changed_tensors).toBe(exported.language.tensors);
  expect(only(r.events, 'done')[0]).toMatchObject({ dtype: 'float32' }); // the tiny base is fp32
  const shards = fs.readdirSync(path.join(out, 'hf')).filter((f) => f.endsWith('.safetensors'));
  expect(shards.length).toBeGreaterThan(1);
  expect(fs.existsSync(path.join(out, 'hf', 'model.safetensors.index.json'))).toBe(true);
}, 120_000);

test('two processes (torchrun, gloo) train as one with the same global batch; a killed rank fails the launch and the rerun resumes; another world size is refused', async () => {
  const ref = await runTrainer(['train', '--config', config().file]); // 2 per device × 2 accumulation × 1
  const refLoss = Number(only(ref.events, 'done')[0].final_loss);
  const two = config({ gradient_accumulation_steps: 1 }); // 2 per device × 1 × 2 processes
  const first = await runTrainer(['train', '--config', two.file], {
    worldSize: 2,
    onEvent: (e) => {
      if (e.event !== 'checkpoint' || e.step !== 10) return;
      // SIGKILL one rank: torchrun starts them as `python -u -m adamllm_trainer …`; their
      // DataLoader workers share the command line but have a rank as parent
      const found = execFileSync('pgrep', ['-f', `^\\S+ -u -m adamllm_trainer train --config ${two.file}$`], { encoding: 'utf8' }).trim().split('\n').map(Number);
      const parent = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      const ranks = found.filter((pid) => !found.includes(parent(pid)));
      expect(ranks).toHaveLength(2);
      process.kill(Number(ranks[1]), 'SIGKILL');
    },
  });
  expect(first.code).not.toBe(0);
  expect(only(first.events, 'start')[0]).toMatchObject({ world_size: 2, strategy: 'ddp', global_batch: 4 });
  const second = await runTrainer(['train', '--config', two.file], { worldSize: 2 });
  expect(second.code).toBe(0);
  expect(Number(only(second.events, 'start')[0].step)).toBeGreaterThanOrEqual(10);
  // the same examples in each step, the loss token-averaged over both ranks: equal up to the
  // order of float additions in the all-reduce
  expect(Math.abs(Number(only(second.events, 'done')[0].final_loss) - refLoss)).toBeLessThanOrEqual(1e-4);
  const one = await runTrainer(['train', '--config', two.file]);
  expect(one.code).toBe(2);
  expect(String(only(one.events, 'error')[0].message)).toMatch(/made by 2 process\(es\) and this run has 1/);

  // FSDP (full shard per decoder layer, fp32 parameters): the same steps, gathered for export
  const fsdp = config({ gradient_accumulation_steps: 1, strategy: 'fsdp', export: { hf: true, onnx: false } });
  const sharded = await runTrainer(['train', '--config', fsdp.file], { worldSize: 2 });
  expect(sharded.code).toBe(0);
  expect(only(sharded.events, 'start')[0]).toMatchObject({ world_size: 2, strategy: 'fsdp' });
  expect(Math.abs(Number(only(sharded.events, 'done')[0].final_loss) - refLoss)).toBeLessThanOrEqual(1e-4);
  const exported = diffWeights(tinyVL, path.join(fsdp.out, 'hf'));
  expect(exported.language.changed_tensors).toBe(exported.language.tensors);
  expect(exported.vision.changed_tensors).toBe(0);
}, 300_000);

test('an unreadable training image leaves its example out with the reason and the run goes on; tokenization resumes from its finished shards', async () => {
  const bad = JSON.parse(fs.readFileSync(set.file, 'utf8')) as { images: string[] }[];
  const dir = tempDir('trainset-bad');
  const broken = path.join(dir, 'broken.png');
  fs.writeFileSync(broken, 'not an image');
  bad[3].images = [broken];
  fs.writeFileSync(path.join(dir, 'train.json'), JSON.stringify(bad));
  const cache = tempDir('tok-cache');
  const { file } = config({ train_file: path.join(dir, 'train.json'), cache_dir: cache, max_steps: 1, tokenize_shard_size: 2, tokenize_workers: 2 });
  const r = await runTrainer(['train', '--config', file]);
  expect(r.code).toBe(0);
  const data = only(r.events, 'data')[0];
  expect(data).toMatchObject({ examples: 7, dropped: 1, filtered: [{ reason: 'image unreadable', n: 1 }], cache: 'miss', shards: 4, tokenize_workers: 2 });
  expect((data.samples as Record<string, { row: number }[]>)['image unreadable'][0].row).toBe(3);
  // a crash mid-tokenization: one shard and the index missing
  const folder = path.join(cache, String(data.key));
  fs.rmSync(path.join(folder, 'index.json'));
  fs.rmSync(path.join(folder, 'shard-00002'), { recursive: true });
  const again = await runTrainer(['train', '--config', file]);
  expect(only(again.events, 'data')[0]).toMatchObject({ examples: 7, dropped: 1, cache: 'partial', key: data.key });
}, 120_000);

test('the loss over labelled positions in chunks recomputed in backward (the path of large vocabularies × long batches) equals one plain cross-entropy, loss and gradients', () => {
  // chunks of 7 positions and a zero logits budget force the chunked path on the tiny model
  const code = `
import json, sys, torch
from adamllm_trainer import model as M
from transformers import Qwen2VLForConditionalGeneration
hf = Qwen2VLForConditionalGeneration.from_pretrained(sys.argv[1], dtype=torch.float32)
net = M.CausalLMLoss(hf)
ids = torch.randint(10, 2000, (2, 40), generator=torch.Generator().manual_seed(0))
labels = ids.clone(); labels[:, :10] = -100
out = []
for budget, chunk in ((1 << 30, 2048), (0, 7)):
    M.LOGITS_BUDGET, M.CE_CHUNK = budget, chunk
    hf.zero_grad()
    loss = net(input_ids=ids, labels=labels, attention_mask=torch.ones_like(ids))
    loss.backward()
    out.append((float(loss), torch.cat([p.grad.flatten() for p in hf.parameters() if p.grad is not None])))
print(json.dumps({"plain": out[0][0], "chunked": out[1][0], "max_grad_diff": float((out[0][1] - out[1][1]).abs().max())}))
`;
  const r = JSON.parse(execFileSync(trainerPython(), ['-c', code, tinyVL], { env: { ...process.env, PYTHONPATH: path.join(__dirname, '..', '..', 'trainer') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').at(-1)!) as { plain: number; chunked: number; max_grad_diff: number };
  expect(Math.abs(r.plain - r.chunked)).toBeLessThanOrEqual(1e-3 * Math.abs(r.plain));
  expect(r.max_grad_diff).toBeLessThan(1e-4);
}, 60_000);
