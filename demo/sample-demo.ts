// `adamllm demo`: the README's main job. Builds a sample food dataset (with bad entries
// mixed in), starts the embedded stack, runs the whole pipeline durably and prints a summary.
// With `train`, the run goes on: post-trains the tiny Qwen2-VL the repository builds on the
// training set, evaluates it against its base on a generated Food101-style split and writes
// the report (all on CPU; the tiny model is random, so the scores are noise).
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { TRunSpecInput } from '../core/spec';
import { TASK_QUEUES } from '../core/stages';
import { generateFood101Benchmark } from '../samples/benchmark';
import { generateSample, type SampleFormat } from '../samples/generate';
import { projectRoot } from '../cli/stack/paths';
import { startStack } from '../cli/stack/dev-stack';
import { summary, watchRun } from '../cli/watch';

/** Train, evaluate and report stages on the tiny test model (built by scripts/build-models.sh). */
async function trainingStages(dataDir: string, say: (s: string) => void): Promise<Required<Pick<TRunSpecInput, 'pipeline'>> & Required<Pick<NonNullable<TRunSpecInput['stages']>, 'train' | 'evaluate'>>> {
  const tiny = path.join(projectRoot(), 'models', 'out', 'qwen2vl-tiny');
  if (!fs.existsSync(path.join(tiny, 'config.json'))) throw new Error(`demo --train needs the tiny test model in ${tiny}: run bash scripts/build-models.sh first`);
  const bench = path.join(dataDir, 'benchmark');
  const food101 = fs.existsSync(path.join(bench, 'food101_test.jsonl')) ? { file: path.join(bench, 'food101_test.jsonl') } : await generateFood101Benchmark(bench, 24);
  say(`evaluation split: ${food101.file}`);
  return {
    pipeline: ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report'],
    train: { baseModel: tiny, name: 'qwen2vl-tiny-food', learningRate: 1e-3, epochs: 1, maxSteps: 30, perDeviceBatchSize: 4, gradientAccumulationSteps: 2, maxLength: 1024, saveSteps: 10, validatePrompts: 2 },
    evaluate: {
      maxNewTokens: 32,
      benchmarks: [{ task: 'Food101', path: food101.file }],
      models: [
        { kind: 'base', model: { backend: 'onnx', path: tiny } },
        { kind: 'adapted', model: { backend: 'trained' } },
      ],
    },
  };
}

export async function demo(o: { stateDir: string; count: number; format: SampleFormat; train?: boolean }): Promise<number> {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const dataDir = path.resolve(o.stateDir, 'demo', `${o.format}-${o.count}`);
  const manifestFile = path.join(dataDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    say(`generating a sample dataset of ${o.count} images (plus bad entries) in ${dataDir}`);
    const m = await generateSample({ dir: dataDir, count: o.count, format: o.format, bad: true, oversizeSide: 5000 });
    fs.writeFileSync(manifestFile, JSON.stringify(m, null, 2));
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const training = o.train ? await trainingStages(dataDir, say) : undefined;
  const spec: TRunSpecInput = {
    version: 1,
    domain: 'food',
    description: `adamllm demo: generated food images with captions${training ? ', post-training and evaluation of a tiny model' : ''}`,
    dataset: { format: o.format, path: manifest.annotationFile, imageRoot: manifest.imageRoot },
    ...(training ? { pipeline: training.pipeline } : {}),
    stages: {
      ingest: { maxPixels: 20_000_000, shardSize: 64 },
      synthesize: { shardSize: 128 },
      filter: { shardSize: 128 },
      compose: { shardSize: 128 },
      ...(training ? { train: training.train, evaluate: training.evaluate } : {}),
    },
  };
  const specFile = path.join(dataDir, 'run.json');
  fs.writeFileSync(specFile, JSON.stringify(spec, null, 2));

  const stack = await startStack({ stateDir: o.stateDir, log: (l) => say(l) });
  try {
    const connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection });
    const workflowId = `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec] });
    say(`started workflow ${workflowId} with ${specFile}`);
    const result = await watchRun(client, workflowId, say);
    say('');
    say(summary(result));
    const report = result.stages.find((st) => st.name === 'report')?.outputs?.markdown;
    if (report) say(`report: ${report}`);
    say(`history: node dist/cli/main.js runs show ${workflowId}`);
    await connection.close();
    return result.status === 'succeeded' ? 0 : 1;
  } finally {
    await stack.stop();
  }
}
