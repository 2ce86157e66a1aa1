// Records the histories of the workflow types record-histories.ts (adaptDomain, on real services)
// does not cover, for the replay test: `npx tsx tests/helpers/record-workflow-histories.ts`.
//   replay-train-model-retry: trainModel whose train step fails past its retries, is retried by the
//     operator with patched settings, and succeeds;
//   replay-world-demo: the demo workflow with a trainModel child for its base model, an arm reused
//     from a succeeded run and an arm run as an adaptDomain child, then its table.
// They run on Temporal's time-skipping server with faked activities: a history is what the workflow
// code commands; the fakes only decide the activities' outcomes. Re-record (and review the diff)
// only when a workflow change is meant to be incompatible; otherwise guard it with patched().
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { ChildRun, DemoActivities } from '../../demo/activities';
import { DEMO_QUEUE } from '../../demo/progress';
import { TASK_QUEUES } from '../../core/stages';
import type { TrainModelProgress } from '../../core/train-model-spec';
import { FakeStages, startTimeSkipping } from './time-skipping';

const OUT = path.join(__dirname, '..', 'fixtures', 'histories');
const root = path.join(__dirname, '..', '..');

/** The trainModel activities, faked: the train step fails its first attempt (non-retryable), then succeeds. */
function fakeTrainModel() {
  let trains = 0;
  const counts = { in: 4, out: 4, filtered: 0, failed: 0 };
  return {
    cpu: {
      startModelRun: async () => ({ specHash: 'fake' }),
      prepareModelTraining: async () => ({ result: { counts, reasons: {} }, prepared: { base: { modelId: 'base-model', path: '/base' }, files: { train: '/rows.json' } } }),
    },
    gpu: {
      trainPreparedModel: async () => {
        trains += 1;
        if (trains === 1) throw ApplicationFailure.nonRetryable('the loss went to NaN at step 2', 'TrainingFailed');
        return { result: { counts, reasons: {} }, model: { modelId: 'model-1', onnx: '/model/onnx', hf: '/model/hf', steps: 3, finalLoss: 0.5, reused: false } };
      },
    },
  };
}

const modelSpec = { version: 1, name: 'replay-model', role: 'base', base: { path: '/base' }, data: { path: '/rows.json', imageRoot: '/images' }, train: { retry: { maximumAttempts: 1 } } };
const adaptSpec = (p: string) => ({ version: 1, domain: 'slides', dataset: { format: 'jsonl', path: p, imageRoot: '/images' }, stages: {}, runtime: { searchAttributes: false } });

async function main(): Promise<void> {
  const { env, bundle } = await startTimeSkipping();
  try {
    const stages = new FakeStages();
    const tm = fakeTrainModel();
    const demoActs: Pick<DemoActivities, 'prepareWorld' | 'modelRun' | 'armRun' | 'writeComparisonTable' | 'stopSynthesizer'> = {
      prepareWorld: async () => ({ lines: ['world ready'], arms: ['captions', 'rules'], after: {}, needs: { synthesizer: false, judge: false } }),
      modelRun: async (): Promise<ChildRun> => ({ workflowType: 'trainModel', workflowId: 'replay-world-demo-base', label: 'world-base', spec: { ...modelSpec, name: 'world-base', train: {} } as ChildRun['spec'] }),
      armRun: async (_input, _models, name): Promise<ChildRun> =>
        name === 'captions'
          ? { workflowType: 'adaptDomain', workflowId: 'replay-world-demo-captions', label: 'arm captions', spec: adaptSpec('/captions.jsonl') as ChildRun['spec'], reuse: { workflowId: 'demo-captions-before', runId: 'captions-run' } }
          : { workflowType: 'adaptDomain', workflowId: 'replay-world-demo-rules', label: 'arm rules', spec: adaptSpec('/rules.jsonl') as ChildRun['spec'] },
      writeComparisonTable: async () => ({ rows: [], files: { markdown: '/t.md', chart: '/t.png', json: '/t.json' }, markdown: '| table |' }),
      stopSynthesizer: async () => undefined,
    };
    const workers = await Promise.all([
      Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: TASK_QUEUES.workflow, workflowBundle: bundle }),
      Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: TASK_QUEUES.cpu, activities: { ...stages.activities(), ...tm.cpu } }),
      Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: TASK_QUEUES.gpu, activities: tm.gpu }),
      Worker.create({ connection: env.nativeConnection, namespace: env.namespace, taskQueue: DEMO_QUEUE, workflowsPath: path.join(root, 'demo', 'workflows'), activities: demoActs }),
    ]);
    const run = async () => {
      const model = await env.client.workflow.start('trainModel', { taskQueue: TASK_QUEUES.workflow, workflowId: 'replay-train-model-retry', args: [modelSpec] });
      for (;;) {
        const p = await model.query<TrainModelProgress>('progress').catch(() => undefined);
        if (p?.stages.find((s) => s.name === 'train')?.status === 'failed_waiting') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await model.signal('retryStage', { stage: 'train', settings: { learningRate: 1e-4 } });
      const r = (await model.result()) as { status: string };
      if (r.status !== 'succeeded') throw new Error(`trainModel ended ${r.status}`);

      const demo = await env.client.workflow.start('worldDemo', { taskQueue: DEMO_QUEUE, workflowId: 'replay-world-demo', args: [{ dir: '/demo', size: 'test' }] });
      await demo.result();
      fs.mkdirSync(OUT, { recursive: true });
      for (const id of ['replay-train-model-retry', 'replay-world-demo']) {
        const history = await env.client.workflow.getHandle(id).fetchHistory();
        fs.writeFileSync(path.join(OUT, `${id}.json`), historyToJSON(history));
        process.stdout.write(`recorded ${id}: ${history.events?.length} events\n`);
      }
    };
    const [w0, ...rest] = workers;
    await rest.reduce<Promise<void>>((inner, w) => w.runUntil(inner), w0.runUntil(run()));
  } finally {
    await env.teardown();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
