// The contract between the train stage and the Python trainer, which live in two languages:
// the config the train stage writes (activities/trainer/trainer-config.ts) against the trainer's
// TrainConfig (trainer/adamllm_trainer/config.py, as `python -m adamllm_trainer config --json`
// describes it), and the exit codes the activity reads against the ones the trainer returns.
// A setting added, renamed or re-defaulted on one side only fails here, naming it; so does a
// value the spec accepts that the trainer's check() refuses (a run that passes validation must
// not fail at its train stage, possibly hours later on a GPU worker).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ZTrainSettings, ZTrainSettingsFields } from '../../core/spec';
import { TRAINER_DEFAULTED_KEYS, trainerConfig } from '../../activities/trainer/trainer-config';
import { TRAINER_EXIT } from '../../activities/trainer/trainer-events';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { tempDir } from '../helpers/tmp';

const exec = promisify(execFile);
const root = path.join(__dirname, '..', '..');

interface Described {
  help: string;
  default?: unknown;
  settings?: Record<string, Described>;
}

async function python(args: string[]): Promise<string> {
  // the interpreter a worker would use (ADAMLLM_PYTHON, else .venv-models), on the package's source
  const r = await exec(trainerPython(process.env.ADAMLLM_PYTHON), args, { cwd: root, env: { ...process.env, PYTHONPATH: path.join(root, 'trainer') } });
  return r.stdout;
}

/** Dotted name → value, one level into the groups (lora, export), as both sides nest them. */
function flatten(config: Record<string, unknown>): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [k, v] of Object.entries(config)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) for (const [kk, vv] of Object.entries(v)) out.set(`${k}.${kk}`, vv);
    else out.set(k, v);
  }
  return out;
}

/** Dotted name → the trainer's setting (its default absent where it is required). */
function flattenDescribed(settings: Record<string, Described>): Map<string, Described> {
  const out = new Map<string, Described>();
  for (const [k, d] of Object.entries(settings)) {
    if (d.settings) for (const [kk, dd] of Object.entries(d.settings)) out.set(`${k}.${kk}`, dd);
    else out.set(k, d);
  }
  return out;
}

// the run's own paths: the train stage always writes them, and they have no default to agree on
const PATHS = ['base_model', 'train_file', 'output_dir', 'cache_dir'];
const paths = { trainFile: '/run/export/set.json', outputDir: '/run/train/key', cacheDir: '/cache/tokenized' };

let trainer: Map<string, Described>;
beforeAll(async () => {
  trainer = flattenDescribed(JSON.parse(await python(['-m', 'adamllm_trainer', 'config', '--json'])) as Record<string, Described>);
}, 60_000);

test('the train stage writes exactly the trainer\'s settings, less the ones it leaves to the trainer', () => {
  // every optional key written: sequence appears only when it is not chat, dataset_dir only for relative image paths
  const written = [...flatten(trainerConfig(ZTrainSettings.parse({}), { ...paths, onnx: true, sequence: 'synthesizer', datasetDir: '/images' })).keys()];
  const known = [...trainer.keys()];
  const defaulted: readonly string[] = TRAINER_DEFAULTED_KEYS;
  expect({
    // add it to trainerConfig (with the spec setting it comes from), or to TRAINER_DEFAULTED_KEYS with the reason
    trainerSettingsTheStageNeverWrites: known.filter((k) => !written.includes(k) && !defaulted.includes(k)),
    // config.py would refuse the whole config as an unknown setting
    writtenButUnknownToTheTrainer: written.filter((k) => !known.includes(k)),
    defaultedButWritten: defaulted.filter((k) => written.includes(k)),
    defaultedButUnknownToTheTrainer: defaulted.filter((k) => !known.includes(k)),
    defaultedButRequiredByTheTrainer: defaulted.filter((k) => trainer.has(k) && !('default' in trainer.get(k)!)),
  }).toEqual({
    trainerSettingsTheStageNeverWrites: [],
    writtenButUnknownToTheTrainer: [],
    defaultedButWritten: [],
    defaultedButUnknownToTheTrainer: [],
    defaultedButRequiredByTheTrainer: [],
  });
});

test('a spec that leaves a train setting out gets the trainer\'s default for it', () => {
  // onnx false: what `auto` resolves to for a pipeline without evaluate; sequence left out: chat
  const written = flatten(trainerConfig(ZTrainSettings.parse({}), { ...paths, onnx: false }));
  const disagree: { key: string; typescript: unknown; python: unknown }[] = [];
  for (const [key, value] of written) {
    if (PATHS.includes(key)) continue;
    const d = trainer.get(key);
    if (d && (!('default' in d) || JSON.stringify(d.default) !== JSON.stringify(value))) disagree.push({ key, typescript: value, python: d.default });
  }
  expect(disagree).toEqual([]);
  expect(written.has('sequence')).toBe(false);
  expect(trainer.get('sequence')?.default).toBe('chat'); // what an absent sequence means to trainerConfig
  // the trainer's required settings are the run's paths
  expect([...trainer].filter(([, d]) => !('default' in d)).map(([k]) => k)).toEqual(PATHS.filter((k) => k !== 'cache_dir'));
});

/** A zod schema as far as the probes need to see it (zod 4 keeps each node's definition in _zod.def). */
interface Node {
  _zod: { def: { type: string; innerType?: Node; options?: Node[]; entries?: Record<string, string>; values?: unknown[]; shape?: Record<string, Node>; checks?: { _zod: { def: { check: string; value?: number; inclusive?: boolean; format?: string } } }[] } };
}

/**
 * The edge values a setting's schema accepts: each enum value, literal and boolean; a number's
 * lowest and highest allowed value (one step inside an open bound). Strings and lists are left
 * out (their checks are patterns, not ranges).
 */
function edges(node: Node): unknown[] {
  const d = node._zod.def;
  if (d.innerType) return edges(d.innerType); // default, prefault, optional
  if (d.type === 'enum') return Object.values(d.entries!);
  if (d.type === 'literal') return d.values!;
  if (d.type === 'boolean') return [true, false];
  if (d.type === 'union') return d.options!.flatMap(edges);
  if (d.type !== 'number') return [];
  const checks = (d.checks ?? []).map((c) => c._zod.def);
  const step = checks.some((c) => c.format === 'safeint') ? 1 : 1e-6;
  const out: number[] = [];
  for (const c of checks) {
    if (c.check === 'greater_than') out.push(c.inclusive ? c.value! : c.value! + step);
    if (c.check === 'less_than') out.push(c.inclusive ? c.value! : c.value! - step);
  }
  return out;
}

test('every edge value the spec accepts for a train setting, the trainer\'s check() accepts too', async () => {
  const dir = tempDir('config-ranges');
  // check() wants a model folder and a train file that exist; nothing is loaded from them
  fs.mkdirSync(path.join(dir, 'model'));
  fs.writeFileSync(path.join(dir, 'model', 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'set.json'), '[]');
  const at = { ...paths, trainFile: path.join(dir, 'set.json'), onnx: false };
  // imageMaxPixels at its lowest needs imageMinPixels as low (the spec refuses min > max, as the trainer does)
  const write = (s: Record<string, unknown>) => JSON.stringify(trainerConfig(ZTrainSettings.parse({ baseModel: path.join(dir, 'model'), ...('imageMaxPixels' in s ? { imageMinPixels: 1 } : {}), ...s }), at));
  const plain = write({});
  const probes: { setting: string; value: unknown; file: string }[] = [];
  const shape = (ZTrainSettingsFields as unknown as Node)._zod.def.shape!;
  for (const [key, node] of Object.entries(shape)) {
    const inner = node._zod.def.innerType?._zod.def.shape;
    const leaves: [string, Node, (v: unknown) => Record<string, unknown>][] = inner
      ? Object.entries(inner).map(([k, n]) => [`${key}.${k}`, n, (v) => ({ [key]: { [k]: v } })])
      : [[key, node, (v) => ({ [key]: v })]];
    for (const [setting, leaf, settings] of leaves)
      for (const value of edges(leaf)) {
        const config = write(settings(value)); // throws, naming the setting, if the spec refuses its own edge
        if (config === plain) continue; // the default itself, or a setting that does not reach the trainer
        const file = path.join(dir, `${probes.length}.json`);
        fs.writeFileSync(file, config);
        probes.push({ setting, value, file });
      }
  }
  expect(probes.length).toBeGreaterThan(30);
  const script = [
    'import json, sys',
    'from adamllm_trainer.config import load_config',
    'from adamllm_trainer.events import TrainerError',
    'out = []',
    'for p in sys.argv[1:]:',
    '    try:',
    '        load_config(p)',
    '        out.append(None)',
    '    except TrainerError as e:',
    '        out.append(str(e))',
    'print(json.dumps(out))',
  ].join('\n');
  const verdicts = JSON.parse(await python(['-c', script, ...probes.map((p) => p.file)])) as (string | null)[];
  // refused by what this Python has installed, not by a range: flash-attn is a GPU machine's package
  const byEnvironment = (refused: string) => /flash_attention_2 needs the flash-attn package/.test(refused);
  expect(probes.map((p, i) => ({ setting: p.setting, value: p.value, refused: verdicts[i] })).filter((p) => p.refused !== null && !byEnvironment(p.refused))).toEqual([]);
}, 60_000);

test('the exit codes the activity reads are the ones the trainer returns', async () => {
  const codes = JSON.parse(await python(['-c', 'import json; from adamllm_trainer.events import EXIT_CODES; print(json.dumps(EXIT_CODES))'])) as unknown;
  expect(codes).toEqual(TRAINER_EXIT);
}, 60_000);
