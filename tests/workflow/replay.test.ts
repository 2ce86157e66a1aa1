// Determinism guard: recorded histories of every workflow type must replay against the current
// workflow code. A change to the command sequence without patched() fails here.
//   adaptDomain (success, an operator retry, a shard batch): `npx tsx tests/helpers/record-histories.ts`
//   trainModel (an operator retry with patched settings) and worldDemo (children, a reused run):
//     `npx tsx tests/helpers/record-workflow-histories.ts`
// Re-record only for deliberate breaks. The bundles are built here: no service is needed.
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';

const root = path.join(__dirname, '..', '..');
const dir = path.join(root, 'tests', 'fixtures', 'histories');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
const historyOf = (file: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
const typeOf = (file: string) => historyOf(file).events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';

// the product's workflows, and the demo's (its own worker and bundle)
let product: WorkflowBundle;
let demo: WorkflowBundle;
beforeAll(async () => {
  const logger = new DefaultLogger('ERROR');
  [product, demo] = await Promise.all([
    bundleWorkflowCode({ workflowsPath: path.join(root, 'workflows'), logger }),
    bundleWorkflowCode({ workflowsPath: path.join(root, 'demo', 'workflows'), logger }),
  ]);
}, 120_000);

test('there is a recorded history of every workflow type a user or the demo starts', () => {
  expect(new Set(files.map(typeOf))).toEqual(new Set(['adaptDomain', 'runShards', 'trainModel', 'worldDemo']));
});

test.each(files)('%s replays', async (file) => {
  const workflowId = file.replace(/\.json$/, '').replace(/__/g, '/');
  const bundle = typeOf(file) === 'worldDemo' ? demo : product;
  await Worker.runReplayHistory({ workflowBundle: bundle }, historyOf(file), workflowId);
});
