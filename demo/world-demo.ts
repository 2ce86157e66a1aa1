// `adamllm demo`: the README's main job. On a CPU, with the embedded stack, it shows
// the method making a model better:
//   1. build (or reuse) the demo world: general scenes with tasks, domain slides with captions, a
//      held-out domain benchmark (demo/world, deterministic, cached by its parameters);
//   2. train (or reuse) the world's own models, each a durable trainModel run: the general base
//      model, the visual instruction synthesizer (trainSynthesizer, method step 1) and the
//      consistency judge;
//   3. run adaptDomain once per comparison arm (arms.ts): synthesize, filter, compose, train,
//      evaluate base and adapted, report;
//   4. read every score back from Postgres into one comparison table (Markdown, JSON, PNG).
// With `synthesizerVllm` (`demo --synthesizer-vllm`), the trained synthesizer is served by vLLM
// (served-synthesizer.ts): a check compares its tasks with in-process synthesis slide by slide
// (synthesis-check.ts), and the arms that use it synthesize through vLLM.
// Each step is a durable workflow that reuses its work: a run whose spec matches a succeeded one
// is not run again, and trainModel reuses a finished training folder, so a second demo is fast.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { hashJson } from '../activities/hashing/canonical-json';
import type { Db } from '../activities/db/client';
import { parseRunSpec } from '../core/spec';
import { TASK_QUEUES } from '../core/stages';
import type { RunProgress } from '../core/types';
import { writeWorldTrainingFiles, type WorldTrainingFiles } from './world/training-sets';
import { generateWorld, type World } from './world/world';
import { startStack } from '../cli/stack/dev-stack';
import { summary, watchRun } from '../cli/watch';
import { ARMS, armSpec, modelsNeeded, type Arm, type ArmName, type DemoModels } from './arms';
import { comparisonRows, writeComparison, type ComparisonRow } from './comparison';
import { serveSynthesizer, type ServedSynthesizer } from './served-synthesizer';
import { compareSynthesis, describeComparison, synthesisCheckSpec, type SynthesisCheckInputs, type SynthesisComparison } from './synthesis-check';
import { DEMO_SIZES, type WorldSize } from './sizes';

export interface WorldDemoOptions {
  stateDir: string;
  size: keyof typeof DEMO_SIZES;
  /** the arms to run (all by default); two-stage brings captions with it */
  arms?: ArmName[];
  /** the trainer seed of every arm's post-training (ArmInputs.adaptSeed); absent, the trainer's default */
  adaptSeed?: number;
  /**
   * Serve the trained synthesizer by vLLM: started by the demo from scripts/setup-vllm.sh's venv,
   * or the server at `url` (which serves the synthesizer's folder). The synthesis check runs, and
   * the arms with the trained synthesizer synthesize through it; their table is comparison-vllm.
   */
  synthesizerVllm?: { url?: string };
  /** end the demo (failed) when a stage waits for the operator, instead of waiting with it (tests) */
  stopWhenWaiting?: boolean;
  say?: (line: string) => void;
}

export interface WorldDemoResult {
  ok: boolean;
  rows: ComparisonRow[];
  files?: { markdown: string; chart: string; json: string };
  /** with synthesizerVllm: in-process and served synthesis, slide by slide (also written as synthesis-check.json) */
  synthesisCheck?: SynthesisComparison;
  seconds: number;
}

/**
 * The workflow id of a piece of the demo's work: named by what it does (its spec's hash), not
 * when it started. The embedded Temporal keeps a run going across a Ctrl-C (its history is in the
 * state folder), so the next demo's workers carry it on; a demo that then started the same work
 * under a new id would train the same model twice at once on the same cores. Started with
 * `USE_EXISTING`, the same id follows the run that is still going; a run that ended (failed,
 * terminated) leaves the id free for a new one.
 */
export function demoWorkflowId(what: string, spec: Record<string, unknown>): string {
  return `demo-${what}-${hashJson(spec).slice(0, 12)}`;
}

/** Starts the workflow, or follows the one of the same id still running; says which. */
export async function startOrFollow(client: Client, workflowType: string, workflowId: string, spec: Record<string, unknown>, say: (s: string) => void, label: string) {
  const running = await client.workflow
    .getHandle(workflowId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  const handle = await client.workflow.start(workflowType, { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec], workflowIdConflictPolicy: 'USE_EXISTING' });
  say(`${label}: ${running ? 'following the run still going from before, ' : ''}${workflowType} ${workflowId}`);
  return handle;
}

const elapsed = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(0)} s`;

/** The world and its training files, built once per size (generateWorld reuses an intact folder). */
async function worldOf(dir: string, size: WorldSize, say: (s: string) => void): Promise<{ world: World; files: WorldTrainingFiles }> {
  let last = 0;
  const world = await generateWorld({
    dir: path.join(dir, 'world'),
    seed: size.seed,
    generalImages: size.generalImages,
    domainImages: size.domainImages,
    benchmarkRows: size.benchmarkRows,
    side: size.side,
    onProgress: (p) => {
      if (Date.now() - last < 2000 && p.done < p.total) return;
      last = Date.now();
      say(`  world: ${p.part} ${p.done}/${p.total}`);
    },
  });
  const files = await writeWorldTrainingFiles(world, path.join(dir, 'training'), { judgeTasks: size.judgeTasks, judgeQueryTasks: size.judgeQueryTasks });
  return { world, files };
}

interface TrainedModel {
  runId: string;
  modelId: string;
  name: string;
  onnx: string;
  hf: string;
  steps: number;
  finalLoss: number;
}

/** Runs one trainModel workflow to the end, printing its steps and training steps as they land. */
async function trainModel(client: Client, db: Db, workflowType: 'trainModel' | 'trainSynthesizer', spec: Record<string, unknown>, say: (s: string) => void, stopWhenWaiting = false): Promise<TrainedModel> {
  const t0 = Date.now();
  const workflowId = demoWorkflowId(String(spec.role), spec);
  const handle = await startOrFollow(client, workflowType, workflowId, spec, say, String(spec.name));
  let shown = -1;
  const ticker = setInterval(() => {
    void db.trainStep
      .findFirst({ where: { runId: handle.firstExecutionRunId }, orderBy: { step: 'desc' } })
      .then((s) => {
        if (s && s.step !== shown) {
          shown = s.step;
          say(`  ${spec.name}: step ${s.step}, loss ${s.loss.toFixed(3)}, ${elapsed(t0)}`);
        }
      })
      .catch(() => undefined);
  }, 3000);
  try {
    // its progress query has adaptDomain's shape: a step that waits for the operator is shown with the commands
    const r = (await watchRun(client, workflowId, say, 1000, { stopWhenWaiting })) as unknown as TrainedModel & { status: string };
    if (r.status !== 'succeeded') throw new Error(`demo: ${workflowType} ${workflowId} (${spec.name}) ended ${r.status}: ${JSON.stringify(r)}`);
    say(`  ${spec.name}: ${r.steps} steps, final loss ${Number(r.finalLoss).toFixed(3)}, ${elapsed(t0)} → ${r.onnx}`);
    return r;
  } finally {
    clearInterval(ticker);
  }
}

/**
 * The world models' trainModel specs. Their descriptions are part of each spec's hash, so they
 * stay as first written (the sections they cite are in docs/method.md): a changed word would
 * train every model of an existing demo again.
 */
function modelSpecs(size: WorldSize, world: World, files: WorldTrainingFiles) {
  return {
    base: {
      version: 1,
      name: 'world-base',
      role: 'base',
      description: 'the demo world\'s general model: a fresh tiny Qwen2-VL trained on the general scenes\' captions and tasks',
      base: { init: { corpus: [files.corpus], ...size.init, seed: size.seed } },
      data: { path: files.base, imageRoot: files.imageRoot },
      train: size.base,
    },
    synthesizer: (baseHf: string) => ({
      version: 1,
      name: 'world-synthesizer',
      role: 'synthesizer',
      description: 'the demo world\'s visual instruction synthesizer, fine-tuned from the general model on the general seed tasks (method.md §5)',
      base: { path: baseHf },
      data: { path: world.paths.generalSeed, imageRoot: path.dirname(world.paths.generalSeed) },
      train: size.synthesizer,
    }),
    judgeQuery: (baseHf: string) => ({
      version: 1,
      name: 'world-judge-query',
      role: 'judge',
      description: 'the demo world\'s consistency judge, first lesson: the query block of the judge prompt alone, consistent and contradicting answers to the general seed tasks',
      base: { path: baseHf },
      data: { path: files.judgeQuery },
      train: size.judgeQuery,
    }),
    judge: (firstLessonHf: string) => ({
      version: 1,
      name: 'world-judge',
      role: 'judge',
      description: 'the demo world\'s consistency judge: the whole few-shot prompt (method.md §6), trained on from its first lesson',
      base: { path: firstLessonHf },
      data: { path: files.judge },
      train: size.judge,
    }),
  };
}

/** The latest succeeded run of exactly this spec, if any: its work need not be done again. */
async function succeededRun(db: Db, spec: Record<string, unknown>) {
  const specHash = hashJson(parseRunSpec(spec));
  return db.run.findFirst({ where: { specHash, status: 'SUCCEEDED' }, orderBy: { endedAt: 'desc' } });
}

/** Runs one adaptDomain spec to the end (`what` names its workflow id, `label` its lines), or reuses its succeeded run. */
async function runAdapt(client: Client, db: Db, what: string, label: string, spec: Record<string, unknown>, say: (s: string) => void, stopWhenWaiting = false): Promise<{ workflowId: string; runId: string }> {
  const t0 = Date.now();
  const prev = await succeededRun(db, spec);
  if (prev) {
    say(`${label}: reusing succeeded run ${prev.workflowId}`);
    return { workflowId: prev.workflowId, runId: prev.id };
  }
  const workflowId = demoWorkflowId(what, spec);
  const handle = await startOrFollow(client, 'adaptDomain', workflowId, spec, say, label);
  const result: RunProgress = await watchRun(client, workflowId, say, 1000, { stopWhenWaiting });
  if (result.status !== 'succeeded') throw new Error(`demo: ${label} ended ${result.status}:\n${summary(result)}`);
  say(`  ${label}: done in ${elapsed(t0)}`);
  return { workflowId, runId: handle.firstExecutionRunId };
}

/** The synthesis check: the same synthesize stage in-process and through the served synthesizer, compared slide by slide. */
async function synthesisCheck(client: Client, db: Db, x: SynthesisCheckInputs, dir: string, say: (s: string) => void, stopWhenWaiting = false): Promise<SynthesisComparison> {
  const local = await runAdapt(client, db, 'synthesis-in-process', 'synthesis check, in-process', synthesisCheckSpec({ ...x, synthesizer: { onnx: x.synthesizer.onnx } }), say, stopWhenWaiting);
  const served = await runAdapt(client, db, 'synthesis-vllm', 'synthesis check, through vLLM', synthesisCheckSpec(x), say, stopWhenWaiting);
  const c = await compareSynthesis(db, local.runId, served.runId);
  await fs.writeFile(path.join(dir, 'synthesis-check.json'), `${JSON.stringify({ server: x.synthesizer.served, ...c }, null, 2)}\n`);
  for (const l of describeComparison(c, 'vLLM')) say(l);
  return c;
}

/** The HF folder an arm's train stage exported (the two-stage arm trains on from it). */
async function trainedFolder(db: Db, runId: string): Promise<string> {
  const st = await db.stage.findUnique({ where: { runId_name: { runId, name: 'train' } } });
  const hf = (st?.outputs as { hf?: string } | null)?.hf;
  if (!hf) throw new Error(`demo: run ${runId} has no trained HF folder`);
  return hf;
}

/** The demo on services already running (the embedded stack, or a test's harness): client and database given. */
export async function runWorldDemo(o: WorldDemoOptions & { client: Client; db: Db; dir: string }): Promise<WorldDemoResult> {
  const say = o.say ?? ((s: string) => process.stdout.write(`${s}\n`));
  const { client, db, dir } = o;
  const t0 = Date.now();
  const size = DEMO_SIZES[o.size];
  await fs.mkdir(dir, { recursive: true });
  say(`demo world (${o.size}): ${size.generalImages} general images, ${size.domainImages} domain pairs, ${size.benchmarkRows} rows per benchmark, in ${dir}`);
  const { world, files } = await worldOf(dir, size, say);
  say(`world ${world.hash.slice(0, 12)} ready (${elapsed(t0)}): ${world.counts.generalTasks} general tasks, ${files.counts.baseRows} base rows, ${files.counts.judgeQueryRows} + ${files.counts.judgeRows} judge rows`);

  const wanted = new Set<ArmName>(o.arms ?? size.defaultArms ?? ARMS.map((a) => a.name));
  for (const a of ARMS) if (a.after && wanted.has(a.name)) wanted.add(a.after);
  const arms = ARMS.filter((a) => wanted.has(a.name));
  const needs = modelsNeeded(arms);
  // the synthesis check needs the synthesizer, whichever arms run
  if (o.synthesizerVllm) needs.synthesizer = true;

  const specs = modelSpecs(size, world, files);
  const base = await trainModel(client, db, 'trainModel', specs.base, say, o.stopWhenWaiting);
  const synthesizer = needs.synthesizer ? await trainModel(client, db, 'trainSynthesizer', specs.synthesizer(base.hf), say, o.stopWhenWaiting) : undefined;
  const judgeQuery = needs.judge ? await trainModel(client, db, 'trainModel', specs.judgeQuery(base.hf), say, o.stopWhenWaiting) : undefined;
  const judge = judgeQuery ? await trainModel(client, db, 'trainModel', specs.judge(judgeQuery.hf), say, o.stopWhenWaiting) : undefined;
  const models: DemoModels = { base, synthesizer: { onnx: synthesizer?.onnx ?? '' }, judge: { onnx: judge?.onnx ?? '' } };

  const done: { arm: Arm; workflowId: string; runId: string }[] = [];
  let served: ServedSynthesizer | undefined;
  let checked: SynthesisComparison | undefined;
  try {
    if (o.synthesizerVllm) {
      served = await serveSynthesizer({ url: o.synthesizerVllm.url, hf: synthesizer!.hf, logFile: path.join(dir, 'vllm-synthesizer.log'), say });
      const { revision } = await db.model.findUniqueOrThrow({ where: { id: synthesizer!.modelId }, select: { revision: true } });
      models.synthesizer.served = { baseUrl: served.baseUrl, model: served.model, revision };
      checked = await synthesisCheck(client, db, { domainPairs: world.paths.domainPairs, domainImageRoot: world.paths.domainImageRoot, size, synthesizer: models.synthesizer }, dir, say, o.stopWhenWaiting);
    }
    for (const arm of arms) {
      const startFrom = arm.after ? await trainedFolder(db, done.find((d) => d.arm.name === arm.after)!.runId) : undefined;
      const spec = armSpec(arm, { domainPairs: world.paths.domainPairs, domainGoldPairs: world.paths.domainGoldPairs, domainImageRoot: world.paths.domainImageRoot, vqaRad: world.paths.vqaRad, pmcVqa: world.paths.pmcVqa, models, size, startFrom, adaptSeed: o.adaptSeed });
      done.push({ arm, ...(await runAdapt(client, db, arm.name, `arm ${arm.name} (${arm.label})`, spec, say, o.stopWhenWaiting)) });
    }
  } finally {
    await served?.stop();
  }

  const rows = await comparisonRows(db, done);
  const seconds = (Date.now() - t0) / 1000;
  const note = [
    `World ${world.hash.slice(0, 12)} (${o.size}): ${size.domainImages} domain image-caption pairs; benchmark ${size.benchmarkRows} VQA-RAD-style and ${size.benchmarkRows} PMC-VQA-style rows, scored by the paper's metrics.`,
    `Every model starts from the general base model (a tiny Qwen2-VL trained here from nothing on general scenes) and is post-trained by adaptDomain on one training set${o.adaptSeed === undefined ? '' : ` with trainer seed ${o.adaptSeed}`}; the average is the main metric.`,
    ...(checked ? [`The arms with the trained synthesizer synthesized through vLLM (${models.synthesizer.served!.baseUrl}); the ${describeComparison({ ...checked, differences: [] }, 'vLLM')[0]}.`] : []),
    `This demo took ${seconds.toFixed(0)} s.`,
  ].join(' ');
  // a seeded table, or one whose synthesizer was served, goes beside the default one, not over it
  const out = await writeComparison(rows, path.join(dir, `comparison${o.adaptSeed === undefined ? '' : `-seed${o.adaptSeed}`}${o.synthesizerVllm ? '-vllm' : ''}`), note);
  say('');
  say(await fs.readFile(out.markdown, 'utf8'));
  say(`comparison: ${out.markdown} (chart ${out.chart})`);
  return { ok: true, rows, files: out, synthesisCheck: checked, seconds };
}

/** The signal that stopped a demo: its runs are durable, so the next demo goes on from them. */
export class DemoInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`demo: stopped by ${signal}; the runs so far are kept (a demo started again reuses them)`);
  }
}

/** Rejects on the first SIGINT or SIGTERM (`signal` then names it); `dispose` removes the handlers. */
function interruption(): { promise: Promise<never>; signal?: NodeJS.Signals; dispose: () => void } {
  let on: (s: NodeJS.Signals) => void = () => undefined;
  const it: ReturnType<typeof interruption> = {
    promise: new Promise<never>((_, reject) => {
      on = (s) => {
        it.signal = s;
        reject(new DemoInterrupted(s));
      };
    }),
    dispose: () => (process.off('SIGINT', on), process.off('SIGTERM', on)),
  };
  it.promise.catch(() => undefined); // awaited only where raced; never an unhandled rejection
  process.once('SIGINT', on);
  process.once('SIGTERM', on);
  return it;
}

/**
 * `adamllm demo`: the embedded stack (Temporal dev server, database, workers), then the demo.
 * A SIGINT or SIGTERM stops the stack (the dev server is a child process: left running, it would
 * hold the port and the state folder) and rejects with DemoInterrupted; the caller exits.
 */
export async function worldDemo(o: WorldDemoOptions): Promise<WorldDemoResult> {
  const say = o.say ?? ((s: string) => process.stdout.write(`${s}\n`));
  const stop = interruption();
  try {
    // not raced: a stack half started must still be stopped, so wait for it whole
    const stack = await startStack({ stateDir: o.stateDir, log: (l) => say(l) });
    try {
      if (stop.signal) throw new DemoInterrupted(stop.signal);
      const connection = await Connection.connect({ address: stack.temporalAddress });
      try {
        const client = new Client({ connection });
        return await Promise.race([runWorldDemo({ ...o, say, client, db: stack.db, dir: path.resolve(o.stateDir, 'demo', `world-${o.size}`) }), stop.promise]);
      } finally {
        await connection.close();
      }
    } finally {
      if (stop.signal) say('demo: stopping the embedded stack…');
      await stack.stop();
    }
  } finally {
    stop.dispose();
  }
}
