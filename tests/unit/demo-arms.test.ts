// The demo's comparison arms (demo/arms.ts): each arm's declared role (tasks, filter,
// content) is what shapes its adaptDomain spec and which world models the demo trains; the
// spec must also be one the platform accepts.
import { ARM_NAMES } from '../../demo/arm-names';
import { ARMS, armSpec, modelsNeeded, type Arm, type ArmInputs } from '../../demo/arms';
import { DEMO_SIZES } from '../../demo/sizes';
import { parseRunSpec } from '../../core/spec';

const inputs = (arm: Arm): ArmInputs => ({
  domainPairs: '/w/pairs.json',
  domainGoldPairs: '/w/gold-pairs.json',
  domainImageRoot: '/w/images',
  vqaRad: '/w/VQA_RAD/test.jsonl',
  pmcVqa: '/w/PMC_VQA/test.jsonl',
  models: { base: { hf: '/m/base-hf', onnx: '/m/base-onnx' }, synthesizer: { onnx: '/m/synth-onnx' }, judge: { onnx: '/m/judge-onnx' } },
  size: DEMO_SIZES.full,
  startFrom: arm.after ? '/m/after-hf' : undefined,
});

type Stages = Record<string, Record<string, unknown> | undefined>;
const specOf = (arm: Arm) => armSpec(arm, inputs(arm)) as { pipeline: string[]; dataset: { path: string }; stages: Stages };

test('the arms declare the paper\'s comparisons', () => {
  expect(ARMS.map((a) => [a.name, a.tasks, a.filter, a.content, a.after])).toEqual([
    ['captions', 'none', undefined, 'caption-only', undefined],
    ['rules', 'rules', 'rules', 'caption-and-task', undefined],
    ['unfiltered', 'model', 'rules', 'caption-and-task', undefined],
    ['adamllm', 'model', 'model', 'caption-and-task', undefined],
    ['two-stage', 'model', 'model', 'task-only', 'captions'],
    ['ceiling', 'gold', undefined, 'caption-only', undefined],
  ]);
  // the names the sizes and the CLI use (arm-names.ts) are exactly the arms'
  expect(ARMS.map((a) => a.name)).toEqual([...ARM_NAMES]);
});

test.each(ARMS.map((a) => [a.name, a] as const))('arm %s: its declared role drives its spec', (_name, arm) => {
  const s = specOf(arm);
  expect(() => parseRunSpec(s)).not.toThrow();
  const synthesized = arm.tasks === 'rules' || arm.tasks === 'model';
  for (const stage of ['synthesize', 'filter']) {
    expect(s.pipeline.includes(stage)).toBe(synthesized);
    expect(s.stages[stage] !== undefined).toBe(synthesized);
  }
  if (synthesized) {
    expect(s.stages.synthesize).toMatchObject(arm.tasks === 'model' ? { synthesizer: 'model', model: { path: '/m/synth-onnx' } } : { synthesizer: 'rules' });
    // no consistency filter keeps every task, duplicates too
    expect(s.stages.filter).toMatchObject(arm.filter === 'model' ? { judge: 'model', model: { path: '/m/judge-onnx' } } : { judge: 'rules', dropDuplicates: false });
  }
  // the gold tasks share their pair's image: only the gold arm reads them and keeps every image
  const gold = arm.tasks === 'gold';
  expect(s.dataset.path).toBe(gold ? '/w/gold-pairs.json' : '/w/pairs.json');
  expect(s.stages.ingest!.dedupImages).toBe(gold ? false : undefined);
  expect(s.stages.compose!.content).toBe(arm.content);
  expect(s.stages.train!.baseModel).toBe(arm.after ? '/m/after-hf' : '/m/base-hf');
});

test('a post-training seed is a spec of its own, with its own model name; without one the spec has no seed key, so earlier runs are reused', () => {
  const arm = ARMS.find((a) => a.name === 'ceiling')!;
  const plain = specOf(arm);
  expect(plain.stages.train).not.toHaveProperty('seed');
  expect(plain.stages.train!.name).toBe('world-ceiling');
  const seeded = armSpec(arm, { ...inputs(arm), adaptSeed: 7 }) as typeof plain;
  expect(() => parseRunSpec(seeded)).not.toThrow();
  expect(seeded.stages.train).toMatchObject({ seed: 7, name: 'world-ceiling-seed7' });
  expect(seeded.stages.evaluate!.models).toEqual([expect.objectContaining({ kind: 'base', name: 'world-base' }), expect.objectContaining({ kind: 'adapted', name: 'world-ceiling-seed7' })]);
  // everything else is the same run
  expect({ ...seeded, stages: { ...seeded.stages, train: undefined, evaluate: undefined } }).toEqual({ ...plain, stages: { ...plain.stages, train: undefined, evaluate: undefined } });
  // seed 0 is a seed, not "none"
  expect((armSpec(arm, { ...inputs(arm), adaptSeed: 0 }) as typeof plain).stages.train).toMatchObject({ seed: 0, name: 'world-ceiling-seed0' });
});

test('an arm that trains after another needs that arm\'s model folder', () => {
  const twoStage = ARMS.find((a) => a.after)!;
  expect(() => armSpec(twoStage, { ...inputs(twoStage), startFrom: undefined })).toThrow(/trains after captions/);
});

test('modelsNeeded: the synthesizer and the judge exactly when some arm\'s spec uses them, for every set of arms', () => {
  const uses = (arm: Arm) => {
    const s = specOf(arm).stages;
    return { synthesizer: s.synthesize?.synthesizer === 'model', judge: s.filter?.judge === 'model' };
  };
  for (let mask = 0; mask < 1 << ARMS.length; mask++) {
    const arms = ARMS.filter((_, i) => mask & (1 << i));
    expect(modelsNeeded(arms)).toEqual({ synthesizer: arms.some((a) => uses(a).synthesizer), judge: arms.some((a) => uses(a).judge) });
  }
  // the reduced world's default arms train neither (DEMO_SIZES.test.defaultArms)
  const defaults = ARMS.filter((a) => DEMO_SIZES.test.defaultArms!.includes(a.name));
  expect(modelsNeeded(defaults)).toEqual({ synthesizer: false, judge: false });
  expect(modelsNeeded(ARMS.filter((a) => a.name === 'unfiltered'))).toEqual({ synthesizer: true, judge: false });
  expect(modelsNeeded(ARMS)).toEqual({ synthesizer: true, judge: true });
});

test('a served synthesizer (demo --synthesizer-vllm): the trained synthesizer\'s arms send it their synthesis and train models of their own; every other arm is the same run', () => {
  const served = { baseUrl: 'http://127.0.0.1:8731/v1', model: 'world-synthesizer', revision: 'hf:0123abcd' };
  for (const arm of ARMS) {
    const plain = specOf(arm);
    const viaVllm = armSpec(arm, { ...inputs(arm), models: { ...inputs(arm).models, synthesizer: { onnx: '/m/synth-onnx', served } } }) as typeof plain;
    expect(() => parseRunSpec(viaVllm)).not.toThrow();
    if (arm.tasks !== 'model') {
      expect(viaVllm).toEqual(plain);
      continue;
    }
    expect(viaVllm.stages.synthesize).toEqual({ ...plain.stages.synthesize, model: { backend: 'openai', ...served } });
    expect(viaVllm.stages.train!.name).toBe(`world-${arm.name}-vllm`);
    expect(viaVllm.stages.evaluate!.models).toEqual([expect.objectContaining({ kind: 'base', name: 'world-base' }), expect.objectContaining({ kind: 'adapted', name: `world-${arm.name}-vllm` })]);
  }
  // in-process, the stage is the one earlier demos ran (their runs are reused by the spec's hash)
  expect(specOf(ARMS.find((a) => a.name === 'unfiltered')!).stages.synthesize).toEqual({
    retry: { maximumAttempts: 2, initialIntervalSeconds: 1 },
    synthesizer: 'model',
    model: { backend: 'onnx', path: '/m/synth-onnx' },
    maxNewTokens: DEMO_SIZES.full.synthesizerTokens,
    batchSize: 8,
    shardSize: 64,
  });
});
