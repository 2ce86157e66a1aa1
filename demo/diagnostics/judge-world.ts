// Feasibility of the world's consistency judge (docs/method.md §6): can a tiny model trained
// on the world's general tasks (demo/world/judge-set.ts) tell Yes from No through the full
// few-shot prompt, on a CPU, in minutes? Two steps around the trainer:
//
//   node --import tsx demo/diagnostics/judge-world.ts prepare DIR [--images N] [--train-tasks N] [--eval-tasks N]
//     a reduced world in DIR/world; DIR/corpus.txt (world sentences + the judge prompt's text);
//     DIR/train.json judge rows from the first images' tasks; DIR/heldout.json from the other
//     images' tasks (never trained on); train-query.json and heldout-query.json the same rows
//     with the query block alone as the prompt (judgeRowsOf's prompt: 'query', a first stage)
//   node --import tsx demo/diagnostics/judge-world.ts eval MODEL_DIR ROWS.json [--limit N]
//     every row through the onnx backend as the filter stage runs it (raw prompt, greedy, at most 2
//     new tokens, special tokens skipped, parseJudgeLabel); prints accuracy, the confusion, tokens
//     per prompt and seconds per judged task as JSON
//
// Then, between them:
//   python -m adamllm_trainer init-model --corpus DIR/corpus.txt --out DIR/base --vocab-size 1024
//   python -m adamllm_trainer train --config cfg.json   (sequence "completion", export.onnx true)
// The eval step runs in a plain Node process (onnxruntime-node and Jest's sandbox do not mix).
//
// Found on the shared 2 vCPU VM (600 images, 1,500 train tasks = 3,000 rows, 50 held-out images,
// vocabulary 1,014, hidden 128, 2 layers): ~503 tokens per judge prompt, ~35 for the query block;
// ~38k training tokens/s uncontended (~40 s an epoch of full prompts); the onnx judge ~0.017 s a
// task. On full prompts alone the label stays at chance (lr 1e-3..5e-3, batch 8..32, up to 4
// epochs). The query block alone learns at lr 1e-3, batch 32, 6 epochs (~35 s, 67-76 % held out;
// lr 3e-3 or batch 4..16 did not), and a second stage of 2 epochs on full prompts from that
// model (~90 s) reached 75 % on 400 held-out full prompts. Runs vary by ±10 points.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onnxBackend } from '../../activities/inference/onnx-backend';
import { parseJudgeLabel } from '../../core/judge/prompt';
import { judgeCorpusLines, judgeRowsOf, type JudgeRow } from '../world/judge-set';
import type { SeedRow } from '../../core/synth/seed-set';
import { corpusOf } from '../world/training-sets';
import { generateWorld } from '../world/world';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

async function prepare(dir: string, args: string[]): Promise<void> {
  const images = flag(args, '--images', 600);
  const trainTasks = flag(args, '--train-tasks', 1500);
  const evalTasks = flag(args, '--eval-tasks', 200);
  const world = await generateWorld({ dir: path.join(dir, 'world'), seed: 0, generalImages: images, domainImages: 200, benchmarkRows: 8, side: 112 });
  const seed = JSON.parse(await fs.readFile(world.paths.generalSeed, 'utf8')) as SeedRow[];
  const pairs = JSON.parse(await fs.readFile(world.paths.domainPairs, 'utf8')) as { messages: { content: string }[] }[];
  // the first images train, the last held out: other scenes, other sentences
  const cut = Math.ceil(trainTasks / 4);
  const heldFrom = Math.max(cut, seed.length - Math.ceil(evalTasks / 4));
  const rows = (from: SeedRow[], s: number, maxTasks: number, prompt: 'judge' | 'query') => judgeRowsOf(from, { seed: s, maxTasks, prompt });
  const train = rows(seed.slice(0, cut), 1, trainTasks, 'judge');
  const held = rows(seed.slice(heldFrom), 2, evalTasks, 'judge');
  const corpus = [...corpusOf(seed, pairs.map((p) => p.messages[1].content)), ...judgeCorpusLines()];
  await fs.writeFile(path.join(dir, 'corpus.txt'), `${corpus.join('\n')}\n`);
  await fs.writeFile(path.join(dir, 'train.json'), JSON.stringify(train));
  await fs.writeFile(path.join(dir, 'heldout.json'), JSON.stringify(held));
  // the same tasks and wrong answers with the query block alone as the prompt (the first stage)
  await fs.writeFile(path.join(dir, 'train-query.json'), JSON.stringify(rows(seed.slice(0, cut), 1, trainTasks, 'query')));
  await fs.writeFile(path.join(dir, 'heldout-query.json'), JSON.stringify(rows(seed.slice(heldFrom), 2, evalTasks, 'query')));
  const yes = (rs: JudgeRow[]) => rs.filter((r) => r.completion === ' Yes').length;
  console.log(JSON.stringify({ images: seed.length, trainImages: cut, heldOutImages: seed.length - heldFrom, train: train.length, trainYes: yes(train), heldOut: held.length, heldOutYes: yes(held), corpusLines: corpus.length }));
}

async function evaluate(model: string, rowsFile: string, args: string[]): Promise<void> {
  const rows = (JSON.parse(await fs.readFile(rowsFile, 'utf8')) as JudgeRow[]).slice(0, flag(args, '--limit', Infinity));
  const backend = await onnxBackend(model, process.env.ADAMLLM_ONNX_DEVICE);
  const confusion: Record<string, number> = {};
  let right = 0; // the label written is the row's (Yes or No)
  let decided = 0; // the filter's decision is right: kept exactly the Yes rows
  let promptTokens = 0;
  const started = performance.now();
  for (const row of rows) {
    // the filter stage's decoding (activities/filter/model-judge-stage.ts), one task at a time
    const [r] = await backend.generate([{ prompt: row.prompt }], { maxNewTokens: 2, keepSpecialTokens: false });
    const { label, keep } = parseJudgeLabel(r.text);
    const want = row.completion === ' Yes';
    if (keep === want) decided++;
    if (label === (want ? 'YES' : 'NO')) right++;
    const key = `${row.completion.trim()}->${label}`;
    confusion[key] = (confusion[key] ?? 0) + 1;
    promptTokens += r.promptTokens;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ rows: rows.length, accuracy: right / rows.length, decisionAccuracy: decided / rows.length, confusion, promptTokens: promptTokens / rows.length, secondsPerTask: seconds / rows.length, load: os.loadavg()[0], cpus: os.cpus().length }));
  await backend.dispose();
}

const [cmd, a, b, ...rest] = process.argv.slice(2);
(cmd === 'prepare' ? prepare(a, [b, ...rest].filter(Boolean)) : cmd === 'eval' ? evaluate(a, b, rest) : Promise.reject(new Error('usage: prepare DIR | eval MODEL ROWS'))).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
