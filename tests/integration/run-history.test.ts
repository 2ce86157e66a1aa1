// Run history from Postgres through the CLI: list, show and compare, with --json, and with
// Temporal unreachable (the history must not depend on Temporal's retention).
import fs from 'node:fs';
import path from 'node:path';
import type { RunProgress } from '../../core/types';
import { harness, testEnv, type Harness } from '../helpers/env';
import { runCli } from '../helpers/processes';
import { sampleDataset, specFor, startRun } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

async function cli(...args: string[]): Promise<string> {
  const { stdout } = await runCli(args, { ...process.env, DATABASE_URL: testEnv().databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' });
  return stdout;
}

test('runs list, show and compare read the history from Postgres', async () => {
  const m = await sampleDataset({ count: 30, bad: true, oversizeSide: 2500, format: 'jsonl' });
  const a: RunProgress = await (await startRun(h.client, specFor(m))).result();
  const specB = specFor(m);
  const stagesB = specB.stages as Record<string, Record<string, unknown>>;
  stagesB.export.imagePaths = 'relative';
  stagesB.filter.dropDuplicates = false;
  const b: RunProgress = await (await startRun(h.client, specB)).result();
  expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);

  // Relative image paths resolve against the image root.
  const rows = JSON.parse(fs.readFileSync(String(b.stages[4].outputs!.trainingSet), 'utf8'));
  expect(fs.existsSync(path.join(m.imageRoot, rows[0].images[0]))).toBe(true);
  expect(path.isAbsolute(rows[0].images[0])).toBe(false);

  const list = JSON.parse(await cli('runs', 'list', '--json', '--limit', '50'));
  const ids = list.map((r: { id: string }) => r.id);
  expect(ids).toEqual(expect.arrayContaining([a.runId, b.runId]));
  expect(ids.indexOf(b.runId)).toBeLessThan(ids.indexOf(a.runId)); // newest first

  const shown = JSON.parse(await cli('runs', 'show', a.workflowId, '--json'));
  expect(shown.id).toBe(a.runId);
  expect(shown.stages.map((s: { name: string; status: string }) => `${s.name}:${s.status}`)).toEqual(['ingest:SUCCEEDED', 'synthesize:SUCCEEDED', 'filter:SUCCEEDED', 'compose:SUCCEEDED', 'export:SUCCEEDED']);
  expect(shown.stages[0]).toMatchObject({ countIn: m.rows, countOut: m.expected.accepted });
  expect(shown.stages[0].reasons).toMatchObject({ 'path escapes the image root': 3 });
  expect(shown.artifacts.map((x: { kind: string }) => x.kind).sort()).toEqual(['dataset-info', 'training-set']);

  const text = await cli('runs', 'show', a.runId);
  expect(text).toContain(`run ${a.runId}`);
  expect(text).toContain('path escapes the image root ×3');

  const cmp = JSON.parse(await cli('runs', 'compare', a.runId, b.runId, '--json'));
  expect(cmp.specDiff).toEqual(['stages.export.imagePaths: "absolute" → "relative"', 'stages.filter.dropDuplicates: true → false']);
  const filter = cmp.stages.find((s: { stage: string }) => s.stage === 'filter');
  expect(filter.b.out - filter.a.out).toBe(filter.a.filtered);

  await expect(cli('runs', 'show', 'no-such-run')).rejects.toMatchObject({ stderr: expect.stringContaining('no run with id or workflow id "no-such-run"') });
});
