// `adamllm demo`: the README's main job. On a CPU, with the embedded stack, it runs the method end
// to end on a small world of its own and compares it with its baselines. The demo is one durable
// workflow (demo/workflows/world-demo.ts) on the demo's own worker (demo/worker.ts), which
//   1. builds (or reuses) the demo world: general scenes with tasks, domain slides with captions, a
//      held-out domain benchmark (demo/world, deterministic, cached by its parameters);
//   2. trains (or reuses) the world's own models, each a child trainModel run: the general base
//      model, the visual instruction synthesizer (trainSynthesizer, method step 1) and the
//      consistency judge;
//   3. runs adaptDomain once per comparison arm (arms.ts), each a child run: synthesize, filter,
//      compose, train, evaluate base and adapted, report;
//   4. reads every score back from Postgres into one comparison table (Markdown, JSON, PNG).
// This file only starts that workflow (or finds the one of the same work still going) and follows
// its progress query and its current child's. With `synthesizerVllm` (`demo --synthesizer-vllm`),
// the trained synthesizer is served by vLLM (served-synthesizer.ts): a check compares its tasks with
// in-process synthesis slide by slide (synthesis-check.ts), and the arms that use it synthesize
// through vLLM. Every run reuses its work: a run whose spec matches a succeeded one is not run
// again, and trainModel reuses a finished training folder, so a second demo is fast.
import path from 'node:path';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { Db } from '../activities/db/client';
import { hashJson } from '../activities/hashing/canonical-json';
import type { RunProgress } from '../core/types';
import { startStack } from '../cli/stack/dev-stack';
import { operatorHints, stageLine } from '../cli/watch';
import type { DemoInput, DemoResult } from './activities';
import type { ArmName } from './arm-names';
import { DEMO_QUEUE, type DemoProgress } from './progress';
import type { DEMO_SIZES } from './sizes';
import { startDemoWorker, type DemoWorker } from './worker';

export { demoWorkflowId } from './activities';

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
  /** stop following (not ok, `waiting` set) when a run waits for the operator, instead of waiting with it (tests) */
  stopWhenWaiting?: boolean;
  say?: (line: string) => void;
}

export interface WorldDemoResult extends DemoResult {
  /** the demo workflow's id (`temporal workflow describe --workflow-id …`) */
  workflowId: string;
  /** with stopWhenWaiting: the run that waits for the operator, and its stage (the demo waits with it) */
  waiting?: { workflowId: string; stage: string };
}

/** The demo workflow's input from the command's options (absent options stay absent, so the id does not move). */
export function demoInput(o: Pick<WorldDemoOptions, 'size' | 'arms' | 'adaptSeed' | 'synthesizerVllm'>, dir: string): DemoInput {
  return {
    dir,
    size: o.size,
    ...(o.arms ? { arms: o.arms } : {}),
    ...(o.adaptSeed === undefined ? {} : { adaptSeed: o.adaptSeed }),
    ...(o.synthesizerVllm ? { synthesizerVllm: o.synthesizerVllm.url ? { url: o.synthesizerVllm.url } : {} } : {}),
  };
}

/** The demo workflow's id: named by what it does (its input's hash), so a demo started twice is one workflow. */
export const demoRunId = (input: DemoInput) => `demo-world-${input.size}-${hashJson(input).slice(0, 12)}`;

/**
 * Follows the demo workflow to its end: prints the lines it says, the stages of the child run it
 * waits on (and a trainModel run's training steps from Postgres), and the operator's commands where
 * a child waits for them.
 */
async function followDemo(client: Client, db: Db, workflowId: string, say: (s: string) => void, stopWhenWaiting: boolean, t0: number): Promise<WorldDemoResult> {
  const handle = client.workflow.getHandle(workflowId);
  let said = 0;
  let child: { workflowId: string; shown: Map<string, string>; hinted: string; step: number } | undefined;
  const sayNew = (p: DemoProgress | undefined) => {
    for (const l of p?.lines.slice(said) ?? []) say(l);
    said = Math.max(said, p?.lines.length ?? 0);
  };
  const progressOf = <P>(h: { query<R>(name: string): Promise<R> }) => h.query<P>('progress').catch(() => undefined); // none before the first workflow task
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      sayNew(await progressOf<DemoProgress>(handle));
      try {
        return { ...((await handle.result()) as DemoResult), workflowId };
      } catch (err) {
        const cause = err instanceof WorkflowFailedError ? (err.cause?.message ?? err.message) : (err as Error).message;
        throw new Error(`demo: workflow ${workflowId} ${desc.status.name.toLowerCase()}: ${cause}`);
      }
    }
    const p = await progressOf<DemoProgress>(handle);
    sayNew(p);
    const cur = p?.current;
    if (cur) {
      if (child?.workflowId !== cur.workflowId) child = { workflowId: cur.workflowId, shown: new Map(), hinted: '', step: -1 };
      const cp = await progressOf<RunProgress>(client.workflow.getHandle(cur.workflowId));
      for (const s of cp?.stages ?? []) {
        const line = stageLine(s);
        if (s.status !== 'pending' && child.shown.get(s.name) !== line) {
          child.shown.set(s.name, line);
          say(line);
        }
        if (s.status === 'failed_waiting' && child.hinted !== `${s.name}/${s.attempt}`) {
          child.hinted = `${s.name}/${s.attempt}`;
          say(operatorHints(cur.workflowId, s.name));
          if (stopWhenWaiting) return { ok: false, rows: [], seconds: (Date.now() - t0) / 1000, workflowId, waiting: { workflowId: cur.workflowId, stage: s.name } };
        }
      }
      // a model's training steps, as they land in Postgres
      if (cp && cur.workflowType !== 'adaptDomain') {
        const st = await db.trainStep.findFirst({ where: { runId: cp.runId }, orderBy: { step: 'desc' } });
        if (st && st.step !== child.step) {
          child.step = st.step;
          say(`  ${cur.label}: step ${st.step}, loss ${st.loss.toFixed(3)}`);
        }
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * The demo on services already running (the embedded stack, or a test's harness): starts the
 * demo's worker in this process, starts the demo workflow (or follows the one of the same work
 * still going) and follows it to its end. The worker stops when this returns; the workflow, if
 * it still runs, goes on when a demo is started again.
 */
export async function runWorldDemo(o: WorldDemoOptions & { client: Client; db: Db; temporalAddress: string; namespace?: string; dir: string; worker?: DemoWorker }): Promise<WorldDemoResult> {
  const say = o.say ?? ((s: string) => process.stdout.write(`${s}\n`));
  const t0 = Date.now();
  const input = demoInput(o, path.resolve(o.dir));
  const workflowId = demoRunId(input);
  // a worker the caller started is the caller's to stop
  const own = o.worker ? undefined : await startDemoWorker({ temporalAddress: o.temporalAddress, namespace: o.namespace, db: o.db, client: o.client, say });
  try {
    const running = await o.client.workflow
      .getHandle(workflowId)
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    await o.client.workflow.start('worldDemo', { taskQueue: DEMO_QUEUE, workflowId, args: [input], workflowIdConflictPolicy: 'USE_EXISTING' });
    say(`demo: ${running ? 'following the demo still going from before' : 'started'}, workflow ${workflowId}`);
    return await followDemo(o.client, o.db, workflowId, say, !!o.stopWhenWaiting, t0);
  } finally {
    await own?.stop();
  }
}

/** The signal that stopped a demo: its runs are durable, so the next demo goes on from them. */
export class DemoInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`demo: stopped by ${signal}; the demo workflow and its runs are kept (the same demo started again goes on where it stopped)`);
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
      const client = new Client({ connection });
      // started here, so a signal stops it before the stack (left polling, it would outlive the server)
      const worker = await startDemoWorker({ temporalAddress: stack.temporalAddress, db: stack.db, client, say });
      try {
        return await Promise.race([runWorldDemo({ ...o, say, client, db: stack.db, temporalAddress: stack.temporalAddress, worker, dir: path.resolve(o.stateDir, 'demo', `world-${o.size}`) }), stop.promise]);
      } finally {
        await worker.stop();
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
