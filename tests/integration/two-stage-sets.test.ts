// The two sets of the two-stage baseline (compose `content`): caption-only needs no synthesis
// and yields every image's caption task; task-only yields the kept synthetic task alone.
import fs from 'node:fs';
import type { RunProgress } from '../../core/types';
import { harness, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

type Row = { messages: { role: string; content: string }[]; images: string[] };
const exported = (r: RunProgress): Row[] => JSON.parse(fs.readFileSync(String(r.stages.find((s) => s.name === 'export')!.outputs!.trainingSet), 'utf8'));

test('caption-only: no synthesize or filter stage, one caption conversation per accepted image, in synId order', async () => {
  const m = await sampleDataset({ count: 40 });
  const base = specFor(m);
  const spec = { ...base, pipeline: ['ingest', 'compose', 'export'], stages: { ...(base.stages as object), compose: { shardSize: 16, content: 'caption-only' } } };
  const r: RunProgress = await (await startRun(h.client, spec)).result();
  expect(r.status).toBe('succeeded');
  const compose = r.stages.find((s) => s.name === 'compose')!;
  expect(compose.counts).toEqual({ in: 40, out: 40, filtered: 0, failed: 0 });
  expect(compose.outputs).toEqual({ withSyntheticTask: 0, captionOnly: 40 });
  const rows = exported(r);
  expect(rows).toHaveLength(40);
  for (const row of rows) {
    expect(row.messages.map((x) => x.role)).toEqual(['user', 'assistant']);
    expect(row.messages[0].content.startsWith('<image>\n')).toBe(true);
  }
  const db = await h.db.trainingRow.findMany({ where: { runId: r.runId }, select: { synId: true, keptId: true }, orderBy: { synId: 'asc' } });
  expect(db.map((x) => x.keptId)).toEqual(db.map((x) => x.synId));
});

test('task-only: the kept synthetic tasks alone, a rejected task leaves its image out', async () => {
  const m = await sampleDataset({ count: 40 });
  const base = specFor(m);
  const stages = base.stages as Record<string, object>;
  const spec = { ...base, stages: { ...stages, compose: { ...stages.compose, content: 'task-only' } } };
  const r: RunProgress = await (await startRun(h.client, spec)).result();
  expect(r.status).toBe('succeeded');
  const by = Object.fromEntries(r.stages.map((s) => [s.name, s]));
  const kept = by.filter.counts!.out;
  expect(kept).toBeGreaterThan(0);
  expect(by.compose.counts).toMatchObject({ in: by.ingest.counts!.out, out: kept });
  expect(by.compose.outputs).toEqual({ withSyntheticTask: kept, captionOnly: 0 });
  const rows = exported(r);
  expect(rows).toHaveLength(kept);
  const captions = new Set((await h.db.item.findMany({ where: { dataset: { runId: r.runId } }, select: { caption: true } })).map((i) => i.caption));
  for (const row of rows) {
    expect(row.messages.map((x) => x.role)).toEqual(['user', 'assistant']);
    expect(row.messages[0].content.startsWith('<image>\n')).toBe(true);
    expect(captions.has(row.messages[1].content)).toBe(false); // a task's answer, not the caption
  }
});
