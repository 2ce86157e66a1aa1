// The demo workflow's side effects (demo/workflows/world-demo.ts orchestrates them): the world and
// its training files on disk, the specs of its model and arm runs (named by a hash of the spec, so
// a demo started again finds the same work), the succeeded runs it reuses, the synthesizer served
// by vLLM, and the comparison table read back from Postgres. They run on the demo's own task
// queue, in the process that runs `adamllm demo` (demo/worker.ts).
import fs from 'node:fs/promises';
import path from 'node:path';
import { heartbeat } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Db } from '../activities/db/client';
import { hashJson } from '../activities/hashing/canonical-json';
import { parseRunSpec, type TRunSpecInput } from '../core/spec';
import type { TTrainModelSpecInput } from '../core/train-model-spec';
import { ARMS, armSpec, modelsNeeded, type ArmName, type DemoModels } from './arms';
import { comparisonRows, writeComparison, type ComparisonRow } from './comparison';
import { serveSynthesizer as startServedSynthesizer, type ServedSynthesizer } from './served-synthesizer';
import { compareSynthesis, describeComparison, synthesisCheckSpec, type SynthesisComparison } from './synthesis-check';
import { DEMO_SIZES, type WorldSize } from './sizes';
import { writeWorldTrainingFiles, type WorldTrainingFiles } from './world/training-sets';
import { generateWorld, type World } from './world/world';

/** What `adamllm demo` asks for: the workflow's input, small and serialisable. */
export interface DemoInput {
  /** the demo's folder: the world, its training files and the comparison tables */
  dir: string;
  size: keyof typeof DEMO_SIZES;
  /** the arms asked for (absent: the size's default arms, else all) */
  arms?: ArmName[];
  /** the trainer seed of every arm's post-training (ArmInputs.adaptSeed) */
  adaptSeed?: number;
  /** serve the trained synthesizer by vLLM: the demo starts one, or uses the server at `url` */
  synthesizerVllm?: { url?: string };
}

/** One child run of the demo: its workflow type, its id (named by its work) and its spec. */
export interface ChildRun {
  workflowType: 'adaptDomain' | 'trainModel' | 'trainSynthesizer';
  workflowId: string;
  label: string;
  spec: TRunSpecInput | TTrainModelSpecInput;
  /** a succeeded adaptDomain run of exactly this spec: its work is not done again */
  reuse?: { workflowId: string; runId: string };
}

export type ModelStep = 'base' | 'synthesizer' | 'judgeQuery' | 'judge';

/** The trained model a child trainModel run returns (the fields the demo uses). */
export interface TrainedModel {
  runId: string;
  modelId: string;
  name: string;
  onnx: string | null;
  hf: string;
  steps: number;
  finalLoss: number;
}

export interface DemoResult {
  ok: boolean;
  rows: ComparisonRow[];
  files?: { markdown: string; chart: string; json: string };
  /** with synthesizerVllm: in-process and served synthesis, slide by slide (also written as synthesis-check.json) */
  synthesisCheck?: SynthesisComparison;
  seconds: number;
}

/**
 * The workflow id of a piece of the demo's work: named by what it does (its spec's hash), not
 * when it started, so a demo started again after its process died finds the run still going.
 */
export function demoWorkflowId(what: string, spec: unknown): string {
  return `demo-${what}-${hashJson(spec).slice(0, 12)}`;
}

/** The arms to run: those asked for (or the size's default, else all), each with the arm it trains after. */
export function armsOf(input: Pick<DemoInput, 'size' | 'arms'>): ArmName[] {
  const size = DEMO_SIZES[input.size];
  const wanted = new Set<ArmName>(input.arms ?? size.defaultArms ?? ARMS.map((a) => a.name));
  for (const a of ARMS) if (a.after && wanted.has(a.name)) wanted.add(a.after);
  return ARMS.filter((a) => wanted.has(a.name)).map((a) => a.name);
}

/**
 * The world models' trainModel specs. Their descriptions are part of each spec's hash, so they
 * stay as first written (the sections they cite are in docs/method.md): a changed word would
 * train every model of an existing demo again.
 */
function modelSpec(step: ModelStep, size: WorldSize, world: World, files: WorldTrainingFiles, fromHf?: string): TTrainModelSpecInput {
  const from = () => {
    if (!fromHf) throw new Error(`demo: the ${step} model trains on from another model's folder; none given`);
    return { path: fromHf };
  };
  switch (step) {
    case 'base':
      return {
        version: 1,
        name: 'world-base',
        role: 'base',
        description: 'the demo world\'s general model: a fresh tiny Qwen2-VL trained on the general scenes\' captions and tasks',
        base: { init: { corpus: [files.corpus], ...size.init, seed: size.seed } },
        data: { path: files.base, imageRoot: files.imageRoot },
        train: size.base,
      };
    case 'synthesizer':
      return {
        version: 1,
        name: 'world-synthesizer',
        role: 'synthesizer',
        description: 'the demo world\'s visual instruction synthesizer, fine-tuned from the general model on the general seed tasks (method.md §5)',
        base: from(),
        data: { path: world.paths.generalSeed, imageRoot: path.dirname(world.paths.generalSeed) },
        train: size.synthesizer,
      };
    case 'judgeQuery':
      return {
        version: 1,
        name: 'world-judge-query',
        role: 'judge',
        description: 'the demo world\'s consistency judge, first lesson: the query block of the judge prompt alone, consistent and contradicting answers to the general seed tasks',
        base: from(),
        data: { path: files.judgeQuery },
        train: size.judgeQuery,
      };
    case 'judge':
      return {
        version: 1,
        name: 'world-judge',
        role: 'judge',
        description: 'the demo world\'s consistency judge: the whole few-shot prompt (method.md §6), trained on from its first lesson',
        base: from(),
        data: { path: files.judge },
        train: size.judge,
      };
  }
}

export interface DemoActivityDeps {
  db: Db;
  /** awaits a run some earlier demo started under the same id */
  client: Client;
  /** where the world's progress and the vLLM server's start are told (the demo's terminal) */
  say: (line: string) => void;
}

export function createDemoActivities(deps: DemoActivityDeps) {
  const { db, say } = deps;
  // one world per folder and size in this process; generateWorld itself reuses an intact folder
  const worlds = new Map<string, Promise<{ world: World; files: WorldTrainingFiles }>>();
  const worldOf = (input: DemoInput) => {
    const key = `${input.dir}\0${input.size}`;
    if (!worlds.has(key)) {
      const size = DEMO_SIZES[input.size];
      let last = 0;
      const built = (async () => {
        const world = await generateWorld({
          dir: path.join(input.dir, 'world'),
          seed: size.seed,
          generalImages: size.generalImages,
          domainImages: size.domainImages,
          benchmarkRows: size.benchmarkRows,
          side: size.side,
          onProgress: (p) => {
            heartbeatIfActivity(p);
            if (Date.now() - last < 2000 && p.done < p.total) return;
            last = Date.now();
            say(`  world: ${p.part} ${p.done}/${p.total}`);
          },
        });
        const files = await writeWorldTrainingFiles(world, path.join(input.dir, 'training'), { judgeTasks: size.judgeTasks, judgeQueryTasks: size.judgeQueryTasks });
        return { world, files };
      })();
      built.catch(() => worlds.delete(key)); // a failed build is tried again by the activity's retry
      worlds.set(key, built);
    }
    return worlds.get(key)!;
  };

  /** The latest succeeded run of exactly this spec, if any: its work need not be done again. */
  const succeededRun = async (spec: TRunSpecInput) => {
    const specHash = hashJson(parseRunSpec(spec));
    return db.run.findFirst({ where: { specHash, status: 'SUCCEEDED' }, orderBy: { endedAt: 'desc' } });
  };
  const adaptRun = async (what: string, label: string, spec: TRunSpecInput): Promise<ChildRun> => {
    const prev = await succeededRun(spec);
    return { workflowType: 'adaptDomain', workflowId: demoWorkflowId(what, spec), label, spec, ...(prev ? { reuse: { workflowId: prev.workflowId, runId: prev.id } } : {}) };
  };
  /** The HF folder an arm's train stage exported (the two-stage arm trains on from it). */
  const trainedFolder = async (runId: string): Promise<string> => {
    const st = await db.stage.findUnique({ where: { runId_name: { runId, name: 'train' } } });
    const hf = (st?.outputs as { hf?: string } | null)?.hf;
    if (!hf) throw new Error(`demo: run ${runId} has no trained HF folder`);
    return hf;
  };
  // the vLLM server this process started for the synthesizer, stopped by stopSynthesizer
  let served: ServedSynthesizer | undefined;

  return {
    /** Builds (or finds) the world and its training files; says what the demo will run. */
    async prepareWorld(input: DemoInput): Promise<{ lines: string[]; arms: ArmName[]; after: Partial<Record<ArmName, ArmName>>; needs: { synthesizer: boolean; judge: boolean } }> {
      const size = DEMO_SIZES[input.size];
      await fs.mkdir(input.dir, { recursive: true });
      const { world, files } = await worldOf(input);
      const arms = armsOf(input);
      const needs = modelsNeeded(ARMS.filter((a) => arms.includes(a.name)));
      // the synthesis check needs the synthesizer, whichever arms run
      if (input.synthesizerVllm) needs.synthesizer = true;
      return {
        arms,
        after: Object.fromEntries(ARMS.filter((a) => a.after && arms.includes(a.name)).map((a) => [a.name, a.after!])),
        needs,
        lines: [
          `demo world (${input.size}): ${size.generalImages} general images, ${size.domainImages} domain pairs, ${size.benchmarkRows} rows per benchmark, in ${input.dir}`,
          `world ${world.hash.slice(0, 12)} ready: ${world.counts.generalTasks} general tasks, ${files.counts.baseRows} base rows, ${files.counts.judgeQueryRows} + ${files.counts.judgeRows} judge rows`,
        ],
      };
    },

    /** The trainModel run of one of the world's models (`fromHf`: the folder it trains on from). */
    async modelRun(input: DemoInput, step: ModelStep, fromHf?: string): Promise<ChildRun> {
      const { world, files } = await worldOf(input);
      const spec = modelSpec(step, DEMO_SIZES[input.size], world, files, fromHf);
      return { workflowType: step === 'synthesizer' ? 'trainSynthesizer' : 'trainModel', workflowId: demoWorkflowId(String(spec.role), spec), label: String(spec.name), spec };
    },

    /** One arm's adaptDomain run (`afterRunId`: the run of the arm it trains after). */
    async armRun(input: DemoInput, models: DemoModels, name: ArmName, afterRunId?: string): Promise<ChildRun> {
      const { world } = await worldOf(input);
      const arm = ARMS.find((a) => a.name === name)!;
      const startFrom = afterRunId ? await trainedFolder(afterRunId) : undefined;
      const p = world.paths;
      const spec = armSpec(arm, { domainPairs: p.domainPairs, domainGoldPairs: p.domainGoldPairs, domainImageRoot: p.domainImageRoot, vqaRad: p.vqaRad, pmcVqa: p.pmcVqa, models, size: DEMO_SIZES[input.size], startFrom, adaptSeed: input.adaptSeed });
      return adaptRun(arm.name, `arm ${arm.name} (${arm.label})`, spec);
    },

    /** The synthesis check's two runs: the synthesize stage in-process, then through the served synthesizer. */
    async synthesisCheckRuns(input: DemoInput, synthesizer: DemoModels['synthesizer']): Promise<[ChildRun, ChildRun]> {
      const { world } = await worldOf(input);
      const x = { domainPairs: world.paths.domainPairs, domainImageRoot: world.paths.domainImageRoot, size: DEMO_SIZES[input.size] };
      return [
        await adaptRun('synthesis-in-process', 'synthesis check, in-process', synthesisCheckSpec({ ...x, synthesizer: { onnx: synthesizer.onnx } })),
        await adaptRun('synthesis-vllm', 'synthesis check, through vLLM', synthesisCheckSpec({ ...x, synthesizer })),
      ];
    },

    /**
     * Starts vLLM on the synthesizer's folder in this process, or checks the server the user gave;
     * a server this process already serves is kept (the workflow asks before each arm, so a demo
     * that goes on in a new process has its server again).
     */
    async serveSynthesizer(input: DemoInput, synthesizer: { hf: string; modelId: string }): Promise<NonNullable<DemoModels['synthesizer']['served']>> {
      served ??= await startServedSynthesizer({ url: input.synthesizerVllm?.url, hf: synthesizer.hf, logFile: path.join(input.dir, 'vllm-synthesizer.log'), say });
      const { revision } = await db.model.findUniqueOrThrow({ where: { id: synthesizer.modelId }, select: { revision: true } });
      return { baseUrl: served.baseUrl, model: served.model, revision };
    },

    /** Stops the vLLM server serveSynthesizer started (a server the user gave is left running). */
    async stopSynthesizer(): Promise<void> {
      const s = served;
      served = undefined;
      await s?.stop();
    },

    /** The two synthesis check runs compared slide by slide; written as synthesis-check.json. */
    async compareSynthesisRuns(input: DemoInput, inProcessRunId: string, servedRunId: string, server: unknown): Promise<{ comparison: SynthesisComparison; lines: string[] }> {
      const comparison = await compareSynthesis(db, inProcessRunId, servedRunId);
      await fs.writeFile(path.join(input.dir, 'synthesis-check.json'), `${JSON.stringify({ server, ...comparison }, null, 2)}\n`);
      return { comparison, lines: describeComparison(comparison, 'vLLM') };
    },

    /** Waits for a run an earlier demo started under the same id (a child id already taken) and returns its result. */
    async awaitRun(workflowId: string): Promise<unknown> {
      const handle = deps.client.workflow.getHandle(workflowId);
      const beat = setInterval(() => heartbeat(), 10_000);
      try {
        return await handle.result();
      } finally {
        clearInterval(beat);
      }
    },

    /** Every score read back from Postgres into one comparison table (Markdown, JSON, PNG). */
    async writeComparisonTable(input: DemoInput, done: { arm: ArmName; workflowId: string; runId: string }[], o: { served?: string; check?: SynthesisComparison; seconds: number }): Promise<{ rows: ComparisonRow[]; files: { markdown: string; chart: string; json: string }; markdown: string }> {
      const size = DEMO_SIZES[input.size];
      const { world } = await worldOf(input);
      const rows = await comparisonRows(db, done.map((d) => ({ ...d, arm: ARMS.find((a) => a.name === d.arm)! })));
      const note = [
        `World ${world.hash.slice(0, 12)} (${input.size}): ${size.domainImages} domain image-caption pairs; benchmark ${size.benchmarkRows} VQA-RAD-style and ${size.benchmarkRows} PMC-VQA-style rows, scored by the paper's metrics.`,
        `Every model starts from the general base model (a tiny Qwen2-VL trained here from nothing on general scenes) and is post-trained by adaptDomain on one training set${input.adaptSeed === undefined ? '' : ` with trainer seed ${input.adaptSeed}`}; the average is the main metric.`,
        ...(o.check && o.served ? [`The arms with the trained synthesizer synthesized through vLLM (${o.served}); the ${describeComparison({ ...o.check, differences: [] }, 'vLLM')[0]}.`] : []),
        `This demo took ${o.seconds.toFixed(0)} s.`,
      ].join(' ');
      // a seeded table, or one whose synthesizer was served, goes beside the default one, not over it
      const files = await writeComparison(rows, path.join(input.dir, `comparison${input.adaptSeed === undefined ? '' : `-seed${input.adaptSeed}`}${input.synthesizerVllm ? '-vllm' : ''}`), note);
      return { rows, files, markdown: await fs.readFile(files.markdown, 'utf8') };
    },
  };
}

/** Heartbeats when called inside an activity (the world's progress); a no-op elsewhere. */
function heartbeatIfActivity(details: unknown): void {
  try {
    heartbeat(details);
  } catch {
    // not in an activity's context (the world built by a test or a script)
  }
}

export type DemoActivities = ReturnType<typeof createDemoActivities>;
