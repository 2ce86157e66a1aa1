// Scores recorded into a run's history (base and adapted), then the run report: Markdown with
// the funnel and base-vs-adapted deltas, and a PNG chart.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { RunProgress } from '../../core/types';
import { harness, tempDir, testEnv, type Harness } from '../helpers/env';
import { runCli } from '../helpers/processes';
import { sampleDataset, specFor, startRun } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

const cli = (...args: string[]) => runCli(args, { ...process.env, DATABASE_URL: testEnv().databaseUrl });

function predictions(preds: string[]): string {
  const rows = [
    { input: 'Is there a fracture?', label: 'no', answer_type: 'CLOSED' },
    { input: 'Which lung is affected?', label: 'left lung', answer_type: 'OPEN' },
  ];
  const f = path.join(tempDir('preds'), 'p.jsonl');
  fs.writeFileSync(f, rows.map((r, i) => JSON.stringify({ ...r, pred: preds[i] })).join('\n') + '\n');
  return f;
}

test('recorded base and adapted scores appear in the run report with their delta', async () => {
  const m = await sampleDataset({ count: 12 });
  const run: RunProgress = await (await startRun(h.client, specFor(m))).result();
  const base = predictions(['Yes, there is.', 'right lung']); // CLOSED miss; OPEN recall 1/2
  const adapted = predictions(['No fracture.', 'the left lung']); // both right
  await cli('score', '--task', 'VQA_RAD', '--predictions', base, '--record-run', run.workflowId, '--model', 'tiny-base', '--kind', 'base');
  await cli('score', '--task', 'VQA_RAD', '--predictions', base, '--record-run', run.workflowId, '--model', 'tiny-base', '--kind', 'base'); // re-score: no duplicates
  await cli('score', '--task', 'VQA_RAD', '--predictions', adapted, '--record-run', run.runId, '--model', 'tiny-adapted', '--kind', 'adapted');

  const metrics = await h.db.metric.findMany({ where: { runId: run.runId }, include: { model: true }, orderBy: [{ model: { name: 'asc' } }, { key: 'asc' }] });
  expect(metrics.map((x) => [x.model.name, x.key, x.value, x.testNum])).toEqual([
    ['tiny-adapted', 'CLOSED yes/no accuracy', 100, 2],
    ['tiny-adapted', 'OPEN recall', 100, 2],
    ['tiny-base', 'CLOSED yes/no accuracy', 0, 2],
    ['tiny-base', 'OPEN recall', 50, 2],
  ]);
  // recorded predictions carry no run: reach them through the model this run's metrics name
  const baseModelId = metrics.find((x) => x.model.name === 'tiny-base')!.modelId;
  const basePreds = await h.db.prediction.findMany({ where: { modelId: baseModelId, task: 'VQA_RAD' }, orderBy: { rowIndex: 'asc' } });
  expect(basePreds.map((p) => [p.rowIndex, p.output, p.score])).toEqual([[0, 'Yes, there is.', 0], [1, 'right lung', 50]]);

  const out = tempDir('report');
  await cli('runs', 'report', run.workflowId, '--out', out);
  const md = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
  expect(md).toContain('| VQA_RAD | OPEN recall | 50 | 100 | +50.00 |');
  expect(md).toContain('| VQA_RAD | CLOSED yes/no accuracy | 0 | 100 | +100.00 |');
  expect(md).toContain('source rows 12 → accepted images 12 → synthesized tasks');
  const png = await sharp(path.join(out, 'report.png')).metadata();
  expect(png.format).toBe('png');
  expect(png.width).toBeGreaterThan(400);
  const shown = JSON.parse((await cli('runs', 'show', run.runId, '--json')).stdout);
  expect(shown.metrics).toHaveLength(4);
  expect(shown.artifacts.filter((a: { stage: string }) => a.stage === 'report')).toHaveLength(2);
}, 120_000);
