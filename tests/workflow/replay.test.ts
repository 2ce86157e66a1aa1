// Determinism guard: recorded histories of representative runs must replay against the
// current workflow code. A change to the command sequence without patched() fails here.
// Re-record with `npx tsx tests/helpers/record-histories.ts` only for deliberate breaks.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { testEnv } from '../helpers/env';

const dir = path.join(__dirname, '..', 'fixtures', 'histories');

test.each(fs.readdirSync(dir).filter((f) => f.endsWith('.json')))('%s replays', async (file) => {
  const history = historyFromJSON(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')));
  const workflowId = file.replace(/\.json$/, '').replace(/__/g, '/');
  await Worker.runReplayHistory({ workflowBundle: { codePath: testEnv().bundle } }, history, workflowId);
});
