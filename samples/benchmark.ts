// A held-out Food101-style benchmark from generated images (JSONL with image paths), for the
// demo's evaluation: each image's dish, from its caption, mapped to a Food-101 class. The
// drawings do not show the dish, so no model can score above chance here: it exercises the
// evaluation, not the model.
import fs from 'node:fs';
import path from 'node:path';
import { generateSample } from './generate';

const FOOD101_CLASS: Record<string, string> = {
  'apple pie': 'apple_pie',
  'caesar salad': 'caesar_salad',
  pancakes: 'pancakes',
  lasagna: 'lasagna',
  'fried rice': 'fried_rice',
  'miso ramen': 'ramen',
  'sushi rolls': 'sushi',
  'mushroom risotto': 'risotto',
  'fish tacos': 'tacos',
};

export async function generateFood101Benchmark(dir: string, count: number, seed = 101): Promise<{ file: string; rows: number }> {
  const m = await generateSample({ dir, count, format: 'jsonl', seed });
  const rows = fs
    .readFileSync(m.annotationFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { image: string; caption: string })
    .flatMap((r) => {
      const dish = /^A serving of (.+?) with /.exec(r.caption)?.[1];
      const label = dish ? FOOD101_CLASS[dish] : undefined;
      return label ? [{ image: path.join(m.imageRoot, r.image), input: 'What is the name of the dish in this photo?', label }] : [];
    });
  const file = path.join(dir, 'food101_test.jsonl');
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return { file, rows: rows.length };
}
