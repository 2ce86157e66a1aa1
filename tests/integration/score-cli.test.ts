// `adamllm score` end to end: the paper's keys and scale per task, --per-row, clear errors.
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/env';
import { runCli } from '../helpers/processes';

const cli = (...args: string[]) => runCli(['score', ...args]);

function jsonl(rows: object[]): string {
  const f = path.join(tempDir('score'), 'pred.jsonl');
  fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

test('each task family prints its paper keys as percentages', async () => {
  const pmc = jsonl([
    { input: 'q', label: 'B', A: 'heart', B: 'liver', C: 'lung', D: 'kidney', pred: '(B) liver' },
    { input: 'q', label: 'A', A: 'heart', B: 'liver', C: 'lung', D: 'kidney', pred: 'unsure', index: 3 }, // Random(3) → B: wrong
  ]);
  const pmcOut = JSON.parse((await cli('--task', 'PMC-VQA', '--predictions', pmc, '--json')).stdout);
  expect(pmcOut).toMatchObject({ task: 'PMC_VQA', metrics: { test_num: 2, acc: 50 }, random: 1 });

  const seg = jsonl([
    { input: 'q', label: ['egg tart', 'steak'], pred: 'egg tart and steak' },
    { input: 'q', label: [], pred: 'nothing I know' },
  ]);
  expect(JSON.parse((await cli('--task', 'FoodSeg103', '--predictions', seg)).stdout.split('\n')[0])).toEqual({ test_num: 2, f1: 100 });

  const nut = jsonl([{ input: 'q', label: ['bacon', 'steak'], pred: 'bacon' }]);
  expect(JSON.parse((await cli('--task', 'Nutrition5K', '--predictions', nut)).stdout.split('\n')[0])).toEqual({ test_num: 1, recall: 50 });

  const recipe = jsonl([{ input: 'q', label: 'a b b', pred: 'a a a b' }, { input: 'q', label: 'abc', pred: '...' }]);
  const rl = JSON.parse((await cli('--task', 'Recipe1M', '--predictions', recipe, '--json')).stdout);
  expect(rl.metrics).toEqual({ test_num: 2, rl: (99.9999995 + 0) / 2 });
  expect(rl.errors).toBe(1);

  const food = jsonl([{ input: 'q', label: 'hamburger', pred: 'hot dog or maybe a hamburger' }]);
  const perRow = path.join(tempDir('score'), 'rows.jsonl');
  const foodOut = await cli('--task', 'food101', '--predictions', food, '--per-row', perRow);
  expect(JSON.parse(foodOut.stdout.split('\n')[0])).toEqual({ test_num: 1, acc: 100 });
  expect(JSON.parse(fs.readFileSync(perRow, 'utf8').trim())).toMatchObject({ index: 0, score: 100, parsed: '53', stage: 'content' });
}, 60_000);

test('bad input names the problem', async () => {
  const bad = jsonl([{ input: 'q', pred: 'x' }]);
  await expect(cli('--task', 'SLAKE', '--predictions', bad)).rejects.toMatchObject({ stderr: expect.stringContaining(':1: missing fields label, answer_type for SLAKE') });
  await expect(cli('--task', 'MMMU', '--predictions', bad)).rejects.toMatchObject({ stderr: expect.stringContaining('unknown task "MMMU"') });
  await expect(cli('--task', 'Food101', '--predictions', jsonl([{ input: 'q', label: 'pizza_pie', pred: '1' }]))).rejects.toMatchObject({ stderr: expect.stringContaining('unknown Food101 class "pizza_pie"') });
}, 60_000);
