// The model-training spec (trainModel, trainSynthesizer): defaults, the role's sequence and
// Model kind, and errors that name each bad field.
import fs from 'node:fs';
import path from 'node:path';
import {
  MODEL_KIND_OF_ROLE,
  parseTrainModelSpec,
  patchTrainSettings,
  SEQUENCE_OF_ROLE,
  TrainModelSpecError,
} from '../../core/train-model-spec';

const minimal = { version: 1, name: 'synth-tiny', role: 'synthesizer', base: { path: 'models/base' }, data: { path: 'seed.json', imageRoot: 'images' } };

function issues(input: unknown): string[] {
  try {
    parseTrainModelSpec(input);
  } catch (e) {
    if (e instanceof TrainModelSpecError) return e.issues;
    throw e;
  }
  return [];
}

test('a minimal spec gets the train stage\'s defaults, with ONNX on', () => {
  const s = parseTrainModelSpec(minimal);
  expect(s.train).toMatchObject({ onnx: true, learningRate: 1e-5, epochs: 1, perDeviceBatchSize: 8, maxLength: 6144, finetuning: 'full', retry: { maximumAttempts: 3 } });
  expect(s.prepare).toMatchObject({ timeoutMinutes: 60, retry: { maximumAttempts: 3 } });
  expect(s.train).not.toHaveProperty('baseModel');
  expect(s.train).not.toHaveProperty('name');
});

test('init: defaults of init-model', () => {
  const s = parseTrainModelSpec({ ...minimal, base: { init: { corpus: ['corpus.txt'] } } });
  expect(s.base).toEqual({ init: { corpus: ['corpus.txt'], vocabSize: 2048, hidden: 128, heads: 4, layers: 2, visionDepth: 2, seed: 0 } });
});

test('each role has its trainer sequence and Model kind', () => {
  expect(SEQUENCE_OF_ROLE).toEqual({ base: 'chat', synthesizer: 'synthesizer', judge: 'completion' });
  expect(MODEL_KIND_OF_ROLE).toEqual({ base: 'BASE', synthesizer: 'SYNTHESIZER', judge: 'JUDGE' });
  // a judge reads text rows: no image root needed
  expect(parseTrainModelSpec({ ...minimal, role: 'judge', data: { path: 'judge.json' } }).data.imageRoot).toBeUndefined();
});

test('errors name every bad field by its path', () => {
  const got = issues({
    version: 2,
    name: 'a name',
    role: 'teacher',
    base: { init: { corpus: [], hidden: 100, bogus: 1 } },
    data: { path: '' },
    train: { baseModel: 'x', onnx: 'auto', learningRate: -1 },
  });
  expect(got).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^spec\.version: /),
      expect.stringMatching(/^spec\.name: /),
      expect.stringMatching(/^spec\.role: /),
      expect.stringMatching(/^spec\.base\.init\.corpus: /),
      expect.stringMatching(/^spec\.base\.init\.hidden: a multiple of 8/),
      expect.stringMatching(/^spec\.base\.init: .*bogus/),
      expect.stringMatching(/^spec\.data\.path: /),
      expect.stringMatching(/^spec\.train: .*baseModel/),
      expect.stringMatching(/^spec\.train\.onnx: /),
      expect.stringMatching(/^spec\.train\.learningRate: /),
    ]),
  );
});

test('image pixel bounds in the wrong order are refused at the spec, as the trainer would refuse them at train', () => {
  expect(issues({ ...minimal, train: { imageMinPixels: 4096, imageMaxPixels: 1024 } })).toEqual(['spec.train.imageMinPixels: must not exceed imageMaxPixels']);
  expect(issues({ ...minimal, train: { imageMinPixels: 1024, imageMaxPixels: 1024 } })).toEqual([]);
});

test('base is exactly one of path or init', () => {
  expect(issues({ ...minimal, base: {} })).toEqual([expect.stringMatching(/^spec\.base: give exactly one of path .* or init/)]);
  expect(issues({ ...minimal, base: { path: 'a', init: { corpus: ['c.txt'] } } })).toEqual([expect.stringMatching(/^spec\.base: give exactly one/)]);
});

test('base and synthesizer rows name images: imageRoot is required for them', () => {
  expect(issues({ ...minimal, data: { path: 'seed.json' } })).toEqual(['spec.data.imageRoot: required for role synthesizer (its rows name images)']);
  expect(issues({ ...minimal, role: 'base', data: { path: 'rows.json' } })).toEqual(['spec.data.imageRoot: required for role base (its rows name images)']);
});

test('an operator\'s train patch merges and validates, naming the field', () => {
  const s = parseTrainModelSpec(minimal);
  const patched = patchTrainSettings(s.train, { maxLength: 1024, retry: { maximumAttempts: 5 } });
  expect(patched).toMatchObject({ maxLength: 1024, retry: { maximumAttempts: 5, initialIntervalSeconds: 1 }, learningRate: 1e-5 });
  expect(patchTrainSettings(s.train, undefined)).toBe(s.train);
  expect(() => patchTrainSettings(s.train, { maxLength: 3 })).toThrow(/train\.maxLength: /);
  expect(() => patchTrainSettings(s.train, [1])).toThrow(/settings: must be an object/);
});

test('the README\'s example spec validates (trainSynthesizer fills in the role)', () => {
  const example = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'samples', 'synthesizer-spec.example.json'), 'utf8')) as Record<string, unknown>;
  expect(parseTrainModelSpec({ ...example, role: 'synthesizer' })).toMatchObject({ name: 'general-synthesizer', train: { onnx: true, maxLength: 1024 } });
});

test('init heads: they divide the width into even heads of at least 8 (M-RoPE), named by path', () => {
  const init = (o: Record<string, unknown>) => ({ ...minimal, base: { init: { corpus: ['corpus.txt'], ...o } } });
  expect(parseTrainModelSpec(init({ hidden: 64, heads: 2 })).base).toMatchObject({ init: { hidden: 64, heads: 2 } });
  for (const bad of [{ hidden: 64, heads: 3 }, { hidden: 64, heads: 16 }, { hidden: 48, heads: 8 }, { hidden: 72, heads: 8 }]) {
    expect(issues(init(bad))).toEqual([expect.stringMatching(/^spec\.base\.init\.heads: must divide hidden into heads of an even width of at least 8/)]);
  }
});
