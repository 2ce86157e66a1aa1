// The demo's generated Food101-style split: JSONL rows the benchmark reader and the Food101
// task accept, every label a Food-101 class, every image a file that exists.
import fs from 'node:fs';
import { readBenchmark } from '../../activities/benchmarks/benchmark-reader';
import { food101Id, TASKS } from '../../core/eval/tasks';
import { generateFood101Benchmark } from '../../samples/benchmark';
import { tempDir } from '../helpers/tmp';

test('generated Food101 split: readable rows with Food-101 labels and existing images', async () => {
  const { file, rows } = await generateFood101Benchmark(tempDir('food101'), 30);
  expect(rows).toBeGreaterThan(10);
  const read = [];
  for await (const r of readBenchmark(file, TASKS.Food101)) read.push(r);
  expect(read).toHaveLength(rows);
  for (const r of read) {
    expect(() => food101Id(String(r.fields.label))).not.toThrow();
    expect(fs.existsSync(r.image.path!)).toBe(true);
  }
  // a right answer scores 100 through the task's parser
  const row = read[0];
  const s = TASKS.Food101.scoreRow({ ...row.fields, pred: String(row.fields.label).replace(/_/g, ' ') }, row.index, { f1Convention: 'sklearn>=1.3' });
  expect(s.score).toBe(100);
});
