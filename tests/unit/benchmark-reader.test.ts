// The benchmark readers on fixtures in the real column layout (tests/fixtures/benchmarks,
// written by make_benchmark_fixtures.py): images as PNG bytes inside the Parquet file.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { readBenchmark, type BenchmarkRow } from '../../activities/benchmarks/benchmark-reader';
import { TASKS } from '../../core/eval/tasks';
import { tempDir } from '../helpers/tmp';

const fixture = (f: string) => path.join(__dirname, '..', 'fixtures', 'benchmarks', f);

async function all(file: string, task = TASKS.VQA_RAD): Promise<BenchmarkRow[]> {
  const out: BenchmarkRow[] = [];
  for await (const r of readBenchmark(file, task)) out.push(r);
  return out;
}

test('Parquet: rows across row groups, in order, with image bytes that decode', async () => {
  const rows = await all(fixture('vqa_rad.parquet'));
  expect(rows.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  expect(rows.map((r) => r.fields.answer_type)).toEqual(['CLOSED', 'CLOSED', 'OPEN', 'OPEN', 'CLOSED']);
  expect(rows[2].fields).toEqual({ input: 'Question 2?', label: 'left lung', answer_type: 'OPEN' });
  expect(rows[0].image.path).toBe('synpic0.jpg');
  const meta = await sharp(rows[0].image.bytes!).metadata();
  expect(meta).toMatchObject({ format: 'png', width: 32, height: 24 });
});

test('Parquet: options A-D and list labels come through; a null path is undefined', async () => {
  const pmc = await all(fixture('pmc_vqa.parquet'), TASKS.PMC_VQA);
  expect(pmc[1].fields).toMatchObject({ label: 'B', A: 'heart', B: 'liver', C: 'lung', D: 'kidney' });
  expect(pmc[1].image.path).toBeUndefined();
  const seg = await all(fixture('foodseg103.parquet'), TASKS.FoodSeg103);
  expect(seg[0].fields.label).toEqual(['egg tart', 'steak']);
});

test('Arrow (as datasets.save_to_disk writes it) gives the same rows as Parquet', async () => {
  for (const [name, task] of [['vqa_rad', TASKS.VQA_RAD], ['pmc_vqa', TASKS.PMC_VQA], ['foodseg103', TASKS.FoodSeg103]] as const) {
    const fromArrow = await all(fixture(`${name}.arrow`), task);
    const fromParquet = await all(fixture(`${name}.parquet`), task);
    expect(fromArrow.map((r) => ({ ...r, image: { ...r.image, bytes: Buffer.from(r.image.bytes!).toString('hex') } }))).toEqual(
      fromParquet.map((r) => ({ ...r, image: { ...r.image, bytes: Buffer.from(r.image.bytes!).toString('hex') } })),
    );
  }
});

test('a split missing a field the task needs is refused, naming row and field', async () => {
  await expect(all(fixture('foodseg103.parquet'), TASKS.PMC_VQA)).rejects.toThrow('row 0: missing fields A, B, C, D for PMC_VQA');
});

test('JSONL: image paths resolve against the file folder', async () => {
  const dir = tempDir('bench-jsonl');
  fs.writeFileSync(path.join(dir, 'split.jsonl'), `${JSON.stringify({ image: 'img/a.png', input: 'q', label: 'yes', answer_type: 'CLOSED' })}\n\n`);
  const rows = await all(path.join(dir, 'split.jsonl'));
  expect(rows).toEqual([{ index: 0, fields: { input: 'q', label: 'yes', answer_type: 'CLOSED' }, image: { path: path.join(dir, 'img', 'a.png') } }]);
  fs.writeFileSync(path.join(dir, 'bad.jsonl'), '{"input": "q"}\n');
  await expect(all(path.join(dir, 'bad.jsonl'))).rejects.toThrow('bad.jsonl:1: missing fields label, answer_type for VQA_RAD');
  await expect(all(path.join(dir, 'nope.csv'))).rejects.toThrow('benchmark file not found');
});
