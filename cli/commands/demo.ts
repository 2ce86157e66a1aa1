// `adamllm demo`: the README's main job. Builds a sample food dataset (with bad entries
// mixed in), starts the embedded stack, runs the whole pipeline durably and prints a summary.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TASK_QUEUES } from '../../core/stages';
import { generateSample, type SampleFormat } from '../../samples/generate';
import { startStack } from '../stack/dev-stack';
import { summary, watchRun } from '../watch';

export async function demo(o: { stateDir: string; count: number; format: SampleFormat }): Promise<number> {
  const say = (s: string) => process.stdout.write(`${s}\n`);
  const dataDir = path.resolve(o.stateDir, 'demo', `${o.format}-${o.count}`);
  const manifestFile = path.join(dataDir, 'manifest.json');
  if (!fs.existsSync(manifestFile)) {
    say(`generating a sample dataset of ${o.count} images (plus bad entries) in ${dataDir}`);
    const m = await generateSample({ dir: dataDir, count: o.count, format: o.format, bad: true, oversizeSide: 5000 });
    fs.writeFileSync(manifestFile, JSON.stringify(m, null, 2));
  }
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const spec = {
    version: 1,
    domain: 'food',
    description: 'adamllm demo: generated food images with captions',
    dataset: { format: o.format, path: manifest.annotationFile, imageRoot: manifest.imageRoot },
    stages: { ingest: { maxPixels: 20_000_000, shardSize: 64 }, synthesize: { shardSize: 128 }, filter: { shardSize: 128 }, compose: { shardSize: 128 } },
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
    say(`history: node dist/cli/main.js runs show ${workflowId}`);
    await connection.close();
    return result.status === 'succeeded' ? 0 : 1;
  } finally {
    await stack.stop();
  }
}
