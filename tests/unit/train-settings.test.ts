// The train stage's side of the trainer contract: the config it writes, the folder key that
// decides resume-or-retrain (one list of step-neutral keys with the trainer), when it exports
// ONNX, and how its events and exit codes read.
import fs from 'node:fs';
import { parseRunSpec, type TTrainSettings } from '../../core/spec';
import { exportsOnnx, resumeIgnoredFile, resumeIgnoredKeys, trainerConfig, trainingKey } from '../../activities/trainer/trainer-config';
import { filteredOf, stepRow, trainerOutcome, exitFailure } from '../../activities/trainer/trainer-events';

const minimal = { version: 1, domain: 'food', dataset: { format: 'sharegpt', path: 'a.json', imageRoot: 'images' } };
const bench = [{ task: 'VQA_RAD', path: 'b.parquet' }];

function spec(train: Record<string, unknown> = {}, evaluate?: Record<string, unknown>) {
  return parseRunSpec({ ...minimal, pipeline: ['ingest', 'export', 'train', ...(evaluate ? ['evaluate'] : [])], stages: { train: { baseModel: '/models/base', ...train }, ...(evaluate ? { evaluate } : {}) } });
}
const paths = { trainFile: '/a/runs/r/export/set.json', outputDir: '/a/runs/r/train/k', cacheDir: '/a/cache/tokenized', onnx: false };
const keyOf = (s: TTrainSettings, o: { sha?: string; onnx?: boolean } = {}) => trainingKey(trainerConfig(s, { ...paths, onnx: o.onnx ?? false }), o.sha ?? 'sha-a');

test('the trainer config carries every new setting in the trainer\'s snake_case', () => {
  const c = trainerConfig(spec({ gpus: 2, strategy: 'fsdp', exportDtype: 'bfloat16', maxShardSize: '2GB', tokenizeWorkers: 4 }).stages.train, { ...paths, onnx: true });
  expect(c).toMatchObject({
    gradient_checkpointing: true,
    attn_implementation: 'sdpa',
    group_by_length: true,
    strategy: 'fsdp',
    dataloader_workers: 2,
    pin_memory: true,
    prefetch_factor: 2,
    tokenize_workers: 4,
    tokenize_shard_size: 1000,
    export: { hf: true, onnx: true, validate_prompts: 3, dtype: 'bfloat16', max_shard_size: '2GB' },
  });
  expect(c).not.toHaveProperty('gpus'); // the launch's business, not the trainer's
});

test('a run spec whose image pixel bounds are in the wrong order is refused, naming the field', () => {
  expect(() => spec({ imageMinPixels: 4096, imageMaxPixels: 1024 })).toThrow(/stages\.train\.imageMinPixels: must not exceed imageMaxPixels/);
  expect(spec({ imageMinPixels: 1024, imageMaxPixels: 1024 }).stages.train.imageMinPixels).toBe(1024);
});

test('the folder key leaves out exactly the trainer\'s step-neutral keys: those changes resume, the rest retrain', () => {
  const ignored = resumeIgnoredKeys();
  // one list for both sides, read from the trainer package, not a copy
  expect(JSON.parse(fs.readFileSync(resumeIgnoredFile(), 'utf8')).keys).toEqual(ignored);
  // every key it names is one the train stage writes (log_every stays at the trainer's default)
  const written = Object.keys(trainerConfig(spec().stages.train, paths));
  expect(ignored.filter((k) => !written.includes(k))).toEqual(['log_every']);

  const base = spec().stages.train;
  const key = keyOf(base);
  expect(key).toMatch(/^[0-9a-f]{16}$/);
  const resumable: Record<string, unknown>[] = [
    { onnx: false },
    { validatePrompts: 7 },
    { device: 'cpu' },
    { precision: 'bf16' },
    { saveSteps: 3, saveTotalLimit: 4 },
    { gradientCheckpointing: false },
    { attnImplementation: 'eager' },
    { strategy: 'fsdp' },
    { dataloaderWorkers: 0, pinMemory: false, prefetchFactor: 8 },
    { tokenizeWorkers: 3, tokenizeShardSize: 10 },
    { exportDtype: 'float32', maxShardSize: '500MB' },
    { retry: { maximumAttempts: 9 }, heartbeatTimeoutSeconds: 600, shardTimeoutMinutes: 60, name: 'other' },
  ];
  for (const change of resumable) expect([change, keyOf(spec(change).stages.train)]).toEqual([change, key]);
  expect(keyOf(base, { onnx: true })).toBe(key);
  expect(trainingKey(trainerConfig(base, { ...paths, trainFile: '/elsewhere/set.json', outputDir: '/x', cacheDir: '/y' }), 'sha-a')).toBe(key);

  const retrain: Record<string, unknown>[] = [{ learningRate: 2e-5 }, { groupByLength: false }, { seed: 1 }, { perDeviceBatchSize: 4 }, { maxLength: 2048 }, { finetuning: 'lora' }, { baseModel: '/models/other' }];
  for (const change of retrain) expect([change, keyOf(spec(change).stages.train)]).not.toEqual([change, key]);
  expect(keyOf(base, { sha: 'sha-b' })).not.toBe(key);
  // the process count is not in the key: the trainer refuses another world size's checkpoints
  // by name rather than the stage silently starting afresh
  expect(keyOf({ ...base, gpus: 2 })).toBe(key);
});

test('onnx auto exports only for an in-process evaluation of the trained model', () => {
  const trained = (model: object) => ({ benchmarks: bench, models: [{ kind: 'base', model: { backend: 'onnx', path: 'b' } }, { kind: 'adapted', model }] });
  expect(exportsOnnx(spec())).toBe(false);
  expect(exportsOnnx(spec({}, trained({ backend: 'trained' })))).toBe(true);
  expect(exportsOnnx(spec({}, trained({ backend: 'trained', baseUrl: 'http://h:8000/v1' })))).toBe(false);
  expect(exportsOnnx(spec({}, trained({ backend: 'onnx', path: 'x' })))).toBe(false);
  expect(exportsOnnx(spec({ onnx: true }))).toBe(true);
  expect(exportsOnnx(spec({ onnx: false }, trained({ backend: 'trained', baseUrl: 'http://h:8000/v1' })))).toBe(false);
  // evaluate named but not in the pipeline: nothing runs the export
  const s = spec();
  s.stages.evaluate.models = [{ kind: 'adapted', model: { backend: 'trained' } }];
  expect(exportsOnnx(s)).toBe(false);
});

test('step events fill the new TrainStep columns; older events leave them null', () => {
  const e = { event: 'step', step: 3, total_steps: 9, epoch: 0.3, loss: 2.5, lr: 1e-5, grad_norm: 1.2, tokens: 900, label_tokens: 300, tokens_per_s: 55.5 };
  expect(stepRow({ ...e, padding_waste: 0.125, peak_memory_bytes: 3 * 2 ** 30, world_size: 2 })).toMatchObject({ paddingWaste: 0.125, peakMemoryBytes: BigInt(3 * 2 ** 30), worldSize: 2, gradNorm: 1.2 });
  expect(stepRow(e)).toMatchObject({ paddingWaste: null, peakMemoryBytes: null, worldSize: null, loss: 2.5, totalSteps: 9 });
});

test('left-out examples come by reason; a trainer without `filtered` reports one count', () => {
  const reasons = [
    { reason: 'image unreadable', n: 2 },
    { reason: 'longer than max_length with the image cut', n: 1 },
    { reason: 'nothing', n: 0 },
  ];
  expect(filteredOf({ examples: 5, dropped: 3, filtered: reasons })).toEqual(reasons.slice(0, 2));
  expect(filteredOf({ examples: 5, dropped: 2 })).toEqual([{ reason: 'longer than maxLength with the image cut', n: 2 }]);
  expect(filteredOf({ examples: 5, dropped: 0 })).toEqual([]);
  expect(filteredOf(undefined)).toEqual([]);
});

test('under torchrun (launcher exit 1) the events say which failure it was', () => {
  const ev = (event: string, f: object = {}) => ({ event, ...f });
  expect(trainerOutcome(2, [])).toBe(2);
  expect(trainerOutcome(1, [ev('error', { type: 'config', message: 'checkpoint made by 2 processes, this run has 4' })])).toBe(2);
  expect(trainerOutcome(1, [ev('error', { type: 'export', message: 'greedy mismatch' })])).toBe(3);
  expect(trainerOutcome(1, [ev('step'), ev('stopped', { step: 4 })])).toBe(143);
  expect(trainerOutcome(1, [ev('error', { type: 'runtime', message: 'CUDA out of memory' })])).toBe(1);
  const f = exitFailure(1, null, [ev('error', { type: 'config', message: 'checkpoint made by 2 processes, this run has 4' })], '');
  expect({ type: f.type, nonRetryable: f.nonRetryable, message: f.message }).toEqual({ type: 'InvalidInput', nonRetryable: true, message: 'train: checkpoint made by 2 processes, this run has 4' });
  const killed = exitFailure(137, null, [], '');
  expect({ type: killed.type, nonRetryable: killed.nonRetryable, message: killed.message }).toEqual({ type: 'TrainerFailed', nonRetryable: false, message: 'train: trainer exited with SIGKILL (code 137)' });
});
