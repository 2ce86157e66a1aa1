// End to end against the real Temporal dev server and Postgres: a generated dataset with
// every kind of bad entry mixed in goes through ingest → synthesize → filter → compose → export.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { RunProgress } from '../../core/types';
import { harness, type Harness } from '../helpers/env';
import { sampleDataset, specFor, startRun } from '../helpers/runs';

let h: Harness;
beforeAll(async () => {
  h = await harness();
  await h.startWorkers();
});
afterAll(async () => h.close());

test('a run with corrupt, truncated, empty, missing, escaping, oversize and duplicate entries accounts for every item', async () => {
  const m = await sampleDataset({ count: 300, bad: true, oversizeSide: 2500 });
  const handle = await startRun(h.client, specFor(m));
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  const byName = Object.fromEntries(result.stages.map((s) => [s.name, s]));

  const ingest = byName.ingest;
  const accepted = m.expected.accepted;
  expect(accepted).toBe(303); // 300 drawn + 3 with tricky captions
  expect(ingest.counts).toEqual({ in: m.rows, out: accepted, filtered: 1, failed: m.rows - accepted - 1 });
  expect(ingest.reasons).toEqual({ ...m.expected.failed, ...m.expected.filtered });

  expect(byName.synthesize.counts).toEqual({ in: accepted, out: accepted - 1, filtered: 1, failed: 0 });
  expect(byName.synthesize.reasons).toEqual({ 'no rule applies (caption too short)': 1 });
  // Duplicates: every task whose normalised triplet hash was seen at a lower synId
  // (the two identical short captions, plus captions the generator happened to repeat).
  const groups = await h.db.synthTask.groupBy({ by: ['taskHash'], where: { runId: result.runId, status: 'OK' }, _count: { _all: true } });
  const dupes = groups.reduce((n, g) => n + g._count._all - 1, 0);
  expect(dupes).toBeGreaterThanOrEqual(m.expected.duplicateTasks);
  expect(byName.filter.counts).toEqual({ in: accepted - 1, out: accepted - 1 - dupes, filtered: dupes, failed: 0 });
  expect(byName.filter.reasons).toEqual({ 'duplicate task': dupes });
  // The item with no triplet is dropped entirely; a rejected task keeps a caption-only example.
  expect(byName.compose.counts).toEqual({ in: accepted, out: accepted - 1, filtered: 1, failed: 0 });
  expect(byName.compose.outputs).toEqual({ withSyntheticTask: accepted - 1 - dupes, captionOnly: dupes });
  // every composed example is exported
  expect(byName.export.counts).toEqual({ in: accepted - 1, out: accepted - 1, filtered: 0, failed: 0 });

  // keptId numbers the items with a triplet in synId order, across compose's shards.
  const numbered = await h.db.trainingRow.findMany({ where: { runId: result.runId, keptId: { not: null } }, select: { keptId: true }, orderBy: { synId: 'asc' } });
  expect(numbered.map((r) => r.keptId)).toEqual(numbered.map((_, i) => i));
  expect(numbered).toHaveLength(accepted - 1);

  // Postgres holds the same history.
  const run = await h.db.run.findUniqueOrThrow({ where: { id: result.runId }, include: { stages: true } });
  expect(run.status).toBe('SUCCEEDED');
  expect(run.stages.every((s) => s.status === 'SUCCEEDED')).toBe(true);
  const items = await h.db.item.findMany({ where: { dataset: { runId: result.runId } }, select: { status: true, synId: true } });
  expect(items).toHaveLength(m.rows);
  const synIds = items.filter((i) => i.status === 'ACCEPTED').map((i) => i.synId).sort((a, b) => a! - b!);
  expect(synIds).toEqual(Array.from({ length: accepted }, (_, i) => i));

  // The exported set is valid LLaMA-Factory ShareGPT with images.
  const out = byName.export.outputs!;
  const rows = JSON.parse(fs.readFileSync(String(out.trainingSet), 'utf8'));
  expect(rows).toHaveLength(byName.compose.counts!.out);
  for (const r of rows) {
    expect([2, 4]).toContain(r.messages.length);
    expect(r.messages[0].content.startsWith('<image>\n')).toBe(true);
    expect(r.messages.map((x: { role: string }) => x.role)).toEqual(r.messages.length === 2 ? ['user', 'assistant'] : ['user', 'assistant', 'user', 'assistant']);
    expect(fs.existsSync(r.images[0])).toBe(true);
  }
  const info = JSON.parse(fs.readFileSync(String(out.datasetInfo), 'utf8'));
  expect(info.food.file_name).toBe('image_caption_and_synthetic_task.json');
  expect(info.food.columns).toEqual({ messages: 'messages', images: 'images' });
});

test('bad text at ingest: invalid UTF-8 and an overlong caption fail their rows; the stage goes on and accounts for them', async () => {
  const m = await sampleDataset({ count: 3, format: 'jsonl' });
  const line = (image: string, caption: string) => Buffer.from(JSON.stringify({ image, caption }) + '\n');
  const draw = async (name: string, background: string) => {
    await sharp({ create: { width: 16, height: 16, channels: 3, background } }).png().toFile(path.join(m.imageRoot, name));
    return name;
  };
  fs.appendFileSync(
    m.annotationFile,
    Buffer.concat([
      Buffer.from(`{"image":"${await draw('latin1.png', '#102030')}","caption":"Cr`), Buffer.from([0xe8]), Buffer.from('me br\u00fbl\u00e9e"}\n'), // Latin-1 è
      line(await draw('at_limit.png', '#203040'), '🍮'.repeat(20_000)), // 20,000 code points (40,000 UTF-16 units): accepted
      line(await draw('too_long.png', '#304050'), 'é'.repeat(20_001)),
    ]),
  );
  const handle = await startRun(h.client, { ...specFor(m), pipeline: ['ingest'] });
  const result: RunProgress = await handle.result();
  expect(result.status).toBe('succeeded');
  const ingest = result.stages.find((s) => s.name === 'ingest')!;
  expect(ingest.counts).toEqual({ in: 6, out: 4, filtered: 0, failed: 2 });
  expect(ingest.reasons).toEqual({ 'invalid UTF-8': 1, 'caption too long': 1 });
  const failed = await h.db.item.findMany({ where: { dataset: { runId: result.runId }, status: 'FAILED' }, select: { sourceIndex: true, reason: true }, orderBy: { sourceIndex: 'asc' } });
  // The generated file has 3 lines, so the appended rows are rows 3-5 on lines 4-6.
  expect(failed).toEqual([
    { sourceIndex: 3, reason: 'invalid UTF-8: row 3, line 4' },
    { sourceIndex: 5, reason: 'caption too long: 20001 characters > ingest.maxCaptionChars 20000' },
  ]);
});
