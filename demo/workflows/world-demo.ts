// worldDemo: the demo as one durable workflow (`adamllm demo` starts it and follows its progress).
// It orchestrates only: the world comes from an activity, the world's models are child trainModel
// runs, each comparison arm is a child adaptDomain run, and the table is read back from Postgres by
// an activity, so the demo goes on where it stopped when its process dies and is started again.
// Its id names its work (demo/world-demo.ts), so a demo started twice is one workflow.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ApplicationFailure, defineQuery, executeChild, proxyActivities, setHandler } from '@temporalio/workflow';
import { TASK_QUEUES } from '../../core/stages';
import type { ChildRun, DemoActivities, DemoInput, DemoResult, TrainedModel } from '../activities';
import type { ArmName } from '../arm-names';
import type { DemoModels } from '../arms';
import { DEMO_QUEUE, type DemoProgress } from '../progress';

export const demoProgressQuery = defineQuery<DemoProgress>('progress');

// building the full world takes minutes and heartbeats; a run an earlier demo left waits as long as it runs
const world = proxyActivities<DemoActivities>({ taskQueue: DEMO_QUEUE, startToCloseTimeout: '2 hours', heartbeatTimeout: '5 minutes', retry: { maximumAttempts: 3 } });
const quick = proxyActivities<DemoActivities>({ taskQueue: DEMO_QUEUE, startToCloseTimeout: '20 minutes', retry: { maximumAttempts: 3 } });
const waiting = proxyActivities<DemoActivities>({ taskQueue: DEMO_QUEUE, startToCloseTimeout: '7 days', heartbeatTimeout: '1 minute' });

export async function worldDemo(input: DemoInput): Promise<DemoResult> {
  const t0 = Date.now();
  const progress: DemoProgress = { status: 'running', lines: [] };
  setHandler(demoProgressQuery, () => progress);
  const say = (line: string) => progress.lines.push(line);
  const elapsed = (from: number) => `${((Date.now() - from) / 1000).toFixed(0)} s`;

  /** Runs one child to its end (or follows the run an earlier demo left under its id); fails the demo if it did not succeed. */
  async function child<R extends { status: string }>(run: ChildRun): Promise<R> {
    const started = Date.now();
    progress.current = { workflowId: run.workflowId, workflowType: run.workflowType, label: run.label };
    say(`${run.label}: ${run.workflowType} ${run.workflowId}`);
    let result: R;
    try {
      result = await executeChild<(spec: unknown) => Promise<R>>(run.workflowType, { workflowId: run.workflowId, taskQueue: TASK_QUEUES.workflow, args: [run.spec] });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      say(`${run.label}: following the run still going from before, ${run.workflowType} ${run.workflowId}`);
      result = (await waiting.awaitRun(run.workflowId)) as R;
    }
    progress.current = undefined;
    if (result.status !== 'succeeded') throw ApplicationFailure.nonRetryable(`demo: ${run.label} (${run.workflowType} ${run.workflowId}) ended ${result.status}`, 'DemoStepFailed');
    say(`  ${run.label}: done in ${elapsed(started)}`);
    return result;
  }

  async function trained(run: ChildRun): Promise<TrainedModel> {
    const r = await child<TrainedModel & { status: string }>(run);
    say(`  ${run.label}: ${r.steps} steps, final loss ${Number(r.finalLoss).toFixed(3)} → ${r.onnx}`);
    return r;
  }

  /** An adaptDomain child, or the succeeded run of the same spec (then nothing runs). */
  async function adapt(run: ChildRun): Promise<{ workflowId: string; runId: string }> {
    if (run.reuse) {
      say(`${run.label}: reusing succeeded run ${run.reuse.workflowId}`);
      return run.reuse;
    }
    const r = await child<{ status: string; runId: string }>(run);
    return { workflowId: run.workflowId, runId: r.runId };
  }

  const plan = await world.prepareWorld(input);
  plan.lines.forEach(say);
  const base = await trained(await quick.modelRun(input, 'base'));
  const synthesizer = plan.needs.synthesizer ? await trained(await quick.modelRun(input, 'synthesizer', base.hf)) : undefined;
  const judgeQuery = plan.needs.judge ? await trained(await quick.modelRun(input, 'judgeQuery', base.hf)) : undefined;
  const judge = judgeQuery ? await trained(await quick.modelRun(input, 'judge', judgeQuery.hf)) : undefined;
  const models: DemoModels = { base: { hf: base.hf, onnx: base.onnx ?? '' }, synthesizer: { onnx: synthesizer?.onnx ?? '' }, judge: { onnx: judge?.onnx ?? '' } };

  const done: { arm: ArmName; workflowId: string; runId: string }[] = [];
  let check: DemoResult['synthesisCheck'];
  try {
    // asked again before each arm: a demo that goes on in a new process starts its server again
    const serve = async () => {
      if (input.synthesizerVllm) models.synthesizer.served = await world.serveSynthesizer(input, { hf: synthesizer!.hf, modelId: synthesizer!.modelId });
    };
    if (input.synthesizerVllm) {
      await serve();
      const [inProcess, served] = await quick.synthesisCheckRuns(input, models.synthesizer);
      const a = await adapt(inProcess);
      const b = await adapt(served);
      const c = await quick.compareSynthesisRuns(input, a.runId, b.runId, models.synthesizer.served);
      c.lines.forEach(say);
      check = c.comparison;
    }
    for (const arm of plan.arms) {
      await serve();
      const after = plan.after[arm] ? done.find((d) => d.arm === plan.after[arm])?.runId : undefined;
      done.push({ arm, ...(await adapt(await quick.armRun(input, models, arm, after))) });
    }
  } finally {
    if (input.synthesizerVllm) await quick.stopSynthesizer();
  }

  const seconds = (Date.now() - t0) / 1000;
  const table = await quick.writeComparisonTable(input, done, { served: models.synthesizer.served?.baseUrl, check, seconds });
  say('');
  say(table.markdown);
  say(`comparison: ${table.files.markdown} (chart ${table.files.chart})`);
  progress.status = 'succeeded';
  return { ok: true, rows: table.rows, files: table.files, synthesisCheck: check, seconds };
}
