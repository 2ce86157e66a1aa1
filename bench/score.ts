// `npm run bench:score`: scoring throughput (rows/s) per metric on generated rows (default
// 100,000 per task), in memory and through `scoreFile` (JSONL parse included). One run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scoreFile } from '../activities/evaluate/score-file';
import { PyRandom } from '../core/pyrandom';
import { Aggregator, FOODSEG_VOCAB, NUTRITION_VOCAB, TASKS, type EvalRow, type TaskName } from '../core/eval/tasks';
import food101 from '../core/eval/labels/food101_classes.json';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const WORDS = 'the left right lung liver heart shows a small mass lesion in upper lobe with fluid no evidence of fracture normal size chest x-ray ct scan mri'.split(' ');
const COOK = 'preheat oven to 350 mix flour sugar eggs butter bake for 30 minutes stir the sauce add salt and pepper serve warm with rice chop onions garlic'.split(' ');

function sentence(r: PyRandom, vocab: string[], n: number): string {
  return Array.from({ length: n }, () => r.choice(vocab)).join(' ');
}

function makeRow(task: TaskName, i: number): EvalRow {
  const r = new PyRandom(i);
  switch (task) {
    case 'VQA_RAD': {
      const open = r.randbelow(2) === 0;
      return open
        ? { input: 'q', answer_type: 'OPEN', label: sentence(r, WORDS, 1 + r.randbelow(4)), pred: `${sentence(r, WORDS, 3 + r.randbelow(12))}.` }
        : { input: 'q', answer_type: 'CLOSED', label: r.choice(['yes', 'no']), pred: r.choice(['Yes, it is.', 'No, there is none.', 'The image shows no fracture.']) };
    }
    case 'PMC_VQA':
      return { input: 'q', label: r.choice(['A', 'B', 'C', 'D']), A: 'liver', B: 'lung', C: 'heart', D: 'kidney', pred: r.choice(['The answer is B.', '(C) heart', 'It shows the liver, not the heart', 'unsure']) };
    case 'Food101': {
      const c = r.choice(food101 as string[]);
      return { input: 'q', label: c, pred: `This looks like ${r.choice(food101 as string[]).replace(/_/g, ' ')}, maybe ${c.replace(/_/g, ' ')}.` };
    }
    case 'FoodSeg103': {
      const names = Array.from({ length: 2 + r.randbelow(5) }, () => r.choice(FOODSEG_VOCAB.pairs)[1]);
      return { input: 'q', label: names.slice(1), pred: `The dish contains ${names.join(', ')} and some sauce.` };
    }
    case 'Nutrition5K': {
      const names = Array.from({ length: 2 + r.randbelow(5) }, () => r.choice(NUTRITION_VOCAB.pairs)[1]);
      return { input: 'q', label: names.slice(0, -1), pred: `Ingredients: ${names.join(', ')}.` };
    }
    case 'Recipe1M':
      return { input: 'q', label: Array.from({ length: 6 }, () => sentence(r, COOK, 8)).join('. ') + '.', pred: Array.from({ length: 5 }, () => sentence(r, COOK, 9)).join('. ') + '.' };
    default:
      throw new Error(task);
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-bench-score-'));
  const results: Record<string, unknown> = {};
  for (const task of ['VQA_RAD', 'PMC_VQA', 'Food101', 'FoodSeg103', 'Nutrition5K', 'Recipe1M'] as TaskName[]) {
    const t = TASKS[task];
    const rows = Array.from({ length: ROWS }, (_, i) => makeRow(task, i));
    const o = { f1Convention: 'sklearn>=1.3' as const };
    const t0 = performance.now();
    const agg = new Aggregator();
    rows.forEach((row, i) => agg.add(t.scoreRow(row, i, o)));
    const inMemory = (performance.now() - t0) / 1000;
    const file = path.join(dir, `${task}.jsonl`);
    fs.writeFileSync(file, rows.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const t1 = performance.now();
    const report = await scoreFile(t, file, o);
    const fromFile = (performance.now() - t1) / 1000;
    results[task] = {
      metric: Object.keys(report.metrics).filter((k) => k !== 'test_num').join(' + '),
      rowsPerSecondInMemory: Math.round(ROWS / inMemory),
      rowsPerSecondFromJsonl: Math.round(ROWS / fromFile),
      metrics: report.metrics,
    };
  }
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify({ machine: `${os.cpus().length} × ${os.cpus()[0]?.model}, node ${process.version}`, rowsPerTask: ROWS, note: 'SLAKE and PathVQA share the VQA_RAD metric', results }, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
