import { commonSettings, parseRunSpec, patchStageSettings, SpecError, STAGE_ORDER } from '../../core/spec';

const minimal = { version: 1, domain: 'food', dataset: { format: 'sharegpt', path: 'a.json', imageRoot: 'images' } };

function issues(input: unknown): string[] {
  try {
    parseRunSpec(input);
  } catch (e) {
    if (e instanceof SpecError) return e.issues;
    throw e;
  }
  return [];
}

test('a minimal spec gets the data pipeline and documented defaults', () => {
  const s = parseRunSpec(minimal);
  expect(s.pipeline).toEqual(['ingest', 'synthesize', 'filter', 'compose', 'export']);
  expect(STAGE_ORDER).toEqual([...s.pipeline, 'train', 'evaluate', 'report']);
  expect(s.stages.ingest).toMatchObject({ shardSize: 256, maxPixels: 50_000_000, failOn: 'warning', dedupImages: true, retry: { maximumAttempts: 3 } });
  expect(s.stages.compose.unjudged).toBe('caption-only');
  expect(s.stages.export).toMatchObject({ imagePaths: 'absolute', fileName: 'image_caption_and_synthetic_task.json' });
  expect(s.dataset).toMatchObject({ name: 'default', captionInstruction: 'Describe the image.' });
});

test('the stage runner reads every stage\'s common settings, with the one set of defaults where a stage has none', () => {
  const s = parseRunSpec({ ...minimal, stages: { evaluate: { shardSize: 8 } } });
  const defaults = { shardSize: 256, shardConcurrency: 4, shardsPerChild: 64, heartbeatTimeoutSeconds: 60, shardTimeoutMinutes: 30 };
  expect(commonSettings(s.stages.ingest)).toEqual({ retry: s.stages.ingest.retry, ...defaults });
  expect(commonSettings(s.stages.evaluate)).toMatchObject({ shardSize: 8, shardConcurrency: 4 });
  // export and report have retry only; train keeps its own time limits
  expect(commonSettings(s.stages.export)).toEqual({ retry: { maximumAttempts: 3, initialIntervalSeconds: 1, backoffCoefficient: 2, maximumIntervalSeconds: 60 }, ...defaults });
  expect(commonSettings(s.stages.train)).toMatchObject({ heartbeatTimeoutSeconds: 120, shardTimeoutMinutes: 3 * 24 * 60, shardsPerChild: 64 });
});

test('errors name every bad field by its path', () => {
  const got = issues({ version: 2, domain: 'Food!', dataset: { format: 'xml', imageRoot: '' }, stages: { ingest: { shardSize: 0, bogus: 1 } } });
  expect(got).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^spec\.version: /),
      expect.stringMatching(/^spec\.domain: /),
      expect.stringMatching(/^spec\.dataset\.format: /),
      expect.stringMatching(/^spec\.dataset\.path: /),
      expect.stringMatching(/^spec\.dataset\.imageRoot: /),
      expect.stringMatching(/^spec\.stages\.ingest\.shardSize: /),
      expect.stringMatching(/^spec\.stages\.ingest: .*bogus/),
    ]),
  );
});

test('the pipeline must start with ingest and keep the canonical order', () => {
  expect(issues({ ...minimal, pipeline: ['synthesize'] })).toEqual([expect.stringMatching(/^spec\.pipeline\.0: a pipeline starts with ingest/)]);
  expect(issues({ ...minimal, pipeline: ['ingest', 'compose', 'synthesize'] })).toEqual([expect.stringMatching(/^spec\.pipeline\.2: stages must be unique and in the order/)]);
  expect(issues({ ...minimal, pipeline: ['ingest', 'ingest'] })).toHaveLength(1);
  expect(parseRunSpec({ ...minimal, pipeline: ['ingest', 'synthesize', 'compose', 'export'] }).pipeline).toHaveLength(4);
});

test('an operator patch merges deeply and is validated', () => {
  const s = parseRunSpec(minimal);
  const patched = patchStageSettings('ingest', s.stages.ingest, { maxPixels: 1000, retry: { maximumAttempts: 9 } });
  expect(patched.maxPixels).toBe(1000);
  expect(patched.retry).toEqual({ ...s.stages.ingest.retry, maximumAttempts: 9 });
  expect(patchStageSettings('ingest', s.stages.ingest, undefined)).toBe(s.stages.ingest);
  expect(() => patchStageSettings('ingest', s.stages.ingest, { maxPixels: 'many' })).toThrow(/stages\.ingest\.maxPixels/);
  expect(() => patchStageSettings('ingest', s.stages.ingest, [1])).toThrow(/must be an object/);
});

test('evaluate in the pipeline needs benchmarks and models; non-Qwen prompt families need a server', () => {
  const withEval = { ...minimal, pipeline: ['ingest', 'export', 'evaluate', 'report'] };
  expect(issues(withEval)).toEqual(['spec.stages.evaluate.benchmarks: required (at least one) when the pipeline has evaluate', 'spec.stages.evaluate.models: required (at least one) when the pipeline has evaluate']);
  const evaluate = { benchmarks: [{ task: 'VQA_RAD', path: 'b/vqa_rad.parquet' }], models: [{ kind: 'base', model: { backend: 'onnx', path: 'models/base' } }] };
  const ok = parseRunSpec({ ...withEval, stages: { evaluate } });
  expect(ok.stages.evaluate).toMatchObject({ promptFamily: 'qwen2vl', minPixels: 50176, maxPixels: 1003520, shardSize: 32, f1Convention: 'sklearn>=1.3' });
  expect(issues({ ...withEval, stages: { evaluate: { ...evaluate, promptFamily: 'mllama' } } })).toEqual([
    'spec.stages.evaluate.promptFamily: llava-llama3 and mllama need backend "openai" (a vLLM server): the onnx backend runs the Qwen2-VL family',
  ]);
  expect(issues({ ...withEval, stages: { evaluate: { ...evaluate, benchmarks: [{ task: 'VQA', path: 'x.csv' }] } } })).toEqual([
    expect.stringMatching(/^spec\.stages\.evaluate\.benchmarks\.0\.task: /),
    'spec.stages.evaluate.benchmarks.0.path: a .arrow, .parquet or .jsonl file',
  ]);
});

test('the example evaluation spec in samples/ parses', () => {
  const spec = parseRunSpec(JSON.parse(require('node:fs').readFileSync(require('node:path').join(__dirname, '..', '..', 'samples', 'eval-spec.example.json'), 'utf8')));
  expect(spec.pipeline).toEqual([...STAGE_ORDER]);
  expect(spec.stages.evaluate.models.map((m) => m.kind)).toEqual(['base', 'adapted']);
});

test('train needs a base model; a "trained" evaluation target needs train in the pipeline', () => {
  expect(issues({ ...minimal, pipeline: ['ingest', 'export', 'train'] })).toEqual(['spec.stages.train.baseModel: required when the pipeline has train']);
  const evaluate = { benchmarks: [{ task: 'VQA_RAD', path: 'b.parquet' }], models: [{ kind: 'adapted', model: { backend: 'trained' } }] };
  expect(issues({ ...minimal, pipeline: ['ingest', 'export', 'evaluate'], stages: { evaluate } })).toEqual(['spec.stages.evaluate.models: {"backend": "trained"} needs train in the pipeline']);
  const ok = parseRunSpec({ ...minimal, pipeline: ['ingest', 'export', 'train', 'evaluate'], stages: { train: { baseModel: 'm' }, evaluate } });
  expect(ok.stages.train).toMatchObject({ finetuning: 'full', learningRate: 1e-5, epochs: 1, perDeviceBatchSize: 8, gradientAccumulationSteps: 2, warmupRatio: 0.1, weightDecay: 0.1, maxLength: 6144, imageMaxPixels: 262144, freezeVisionTower: true, seed: 42, onnx: 'auto' });
  // numpy takes seeds up to 2³² − 1: a larger one is refused here, not when the trainer starts
  const train = (seed: number) => issues({ ...minimal, pipeline: ['ingest', 'export', 'train'], stages: { train: { baseModel: 'm', seed } } });
  expect(train(2 ** 32 - 1)).toEqual([]);
  expect(train(2 ** 32)).toEqual([expect.stringMatching(/^spec\.stages\.train\.seed: /)]);
});

test('paper-scale train settings: defaults, gpus, and the trained target behind a server', () => {
  const train = parseRunSpec({ ...minimal, pipeline: ['ingest', 'export', 'train'], stages: { train: { baseModel: 'm' } } }).stages.train;
  expect(train).toMatchObject({
    gpus: 'all',
    strategy: 'ddp',
    gradientCheckpointing: true,
    attnImplementation: 'sdpa',
    groupByLength: true,
    dataloaderWorkers: 2,
    pinMemory: true,
    prefetchFactor: 2,
    tokenizeWorkers: 0,
    tokenizeShardSize: 1000,
    exportDtype: 'base',
    maxShardSize: '5GB',
    onnx: 'auto',
  });
  const withTrain = (t: object, evaluate?: object) => ({ ...minimal, pipeline: ['ingest', 'export', 'train', 'evaluate'], stages: { train: { baseModel: 'm', ...t }, ...(evaluate ? { evaluate } : {}) } });
  const bench = [{ task: 'VQA_RAD', path: 'b.parquet' }];
  expect(issues(withTrain({ gpus: 0, maxShardSize: '5 GB', strategy: 'zero3' }, { benchmarks: bench, models: [{ kind: 'base', model: { backend: 'onnx', path: 'x' } }] }))).toEqual([
    expect.stringMatching(/^spec\.stages\.train\.gpus: /),
    expect.stringMatching(/^spec\.stages\.train\.strategy: /),
    'spec.stages.train.maxShardSize: a whole number and a unit (KB, MB, GB, KiB, MiB, GiB), such as 5GB or 500MB',
  ]);
  // served: the openai options come along; in-process: none of them, and ONNX must not be turned off
  const served = { kind: 'adapted', model: { backend: 'trained', baseUrl: 'http://gpu-box:8000/v1', model: 'tiny-food', concurrency: 64 } };
  expect(parseRunSpec(withTrain({ gpus: 4 }, { benchmarks: bench, models: [served], promptFamily: 'llava-llama3' })).stages.evaluate.models[0].model).toEqual(served.model);
  expect(issues(withTrain({ onnx: false }, { benchmarks: bench, models: [{ kind: 'adapted', model: { backend: 'trained', model: 'x' } }] }))).toEqual([
    'spec.stages.evaluate.models.0.model.model: only with baseUrl (a server); without it the onnx backend runs the ONNX export',
    'spec.stages.train.onnx: evaluate runs {"backend": "trained"} on the onnx backend, which needs the ONNX export: use onnx auto or true, or give the trained target a baseUrl (a vLLM server)',
  ]);
  expect(issues(withTrain({ onnx: false }, { benchmarks: bench, models: [served] }))).toEqual([]);
});
