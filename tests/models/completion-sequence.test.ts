// The trainer's completion sequence (a text-only judge, docs/method.md §6) against the filter stage:
// the unlabelled part of a row is exactly the judge prompt, with the ids the onnx backend feeds
// the model at inference; the labelled part is the label and the tokenizer's eos, which the
// backend stops on and skips, so parseJudgeLabel reads what greedy decoding of the trained
// label writes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { judgePrompt, parseJudgeLabel } from '../../core/judge/prompt';
import { tempDir } from '../helpers/env';
import { runTs } from '../helpers/processes';

const ROOT = path.join(__dirname, '..', '..');
const tinyVL = path.join(ROOT, 'models', 'out', 'qwen2vl-tiny');

interface Encoded {
  ids: number[];
  labels: number[];
  unlabelled: string;
  labelled: string;
  labelledText: string;
  eos: number;
}

/** Each row as the trainer encodes it (ids, labels, both parts decoded), or the trainer's error. */
function encode(rows: object[], maxLength = 6144): Encoded[] {
  const dir = tempDir('completion-seq');
  const file = path.join(dir, 'rows.json');
  fs.writeFileSync(file, JSON.stringify(rows));
  const code = `
import json, sys
from adamllm_trainer.config import TrainConfig
from adamllm_trainer.data import Encoder, iter_rows
cfg = TrainConfig(base_model=sys.argv[1], train_file=sys.argv[2], output_dir=sys.argv[3], sequence="completion", max_length=int(sys.argv[4]))
enc = Encoder(cfg)
out = []
for _, row in iter_rows(cfg):
    ex, reason = enc.encode(row)
    ids, labels = ex["input_ids"].tolist(), ex["labels"].tolist()
    out.append({"ids": ids, "labels": labels, "eos": enc.tok.eos_token_id,
                "unlabelled": enc.tok.decode([t for t, l in zip(ids, labels) if l == -100]),
                "labelled": enc.tok.decode([t for t, l in zip(ids, labels) if l != -100]),
                "labelledText": enc.tok.decode([t for t, l in zip(ids, labels) if l != -100], skip_special_tokens=True)})
print(json.dumps(out))
`;
  const stdout = execFileSync(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', code, tinyVL, file, dir, String(maxLength)], { env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const question = 'How many red circles are there?';
const informative = 'There are two red circles in the picture.';
const rows = [
  { prompt: judgePrompt(question, informative, 'two'), completion: ' Yes' },
  { prompt: judgePrompt(question, informative, 'three'), completion: ' No' },
  { prompt: judgePrompt('Describe the picture.', 'A {question} of $& cost.', 'a picture'), completion: ' Open' },
];

test('completion sequence: the prompt is unlabelled with the ids the onnx backend sees, the label and eos are labelled and parse back', async () => {
  const encoded = encode(rows);
  const promptsFile = path.join(tempDir('completion-prompts'), 'prompts.json');
  fs.writeFileSync(promptsFile, JSON.stringify(rows.map((r) => r.prompt)));
  const { stdout } = await runTs('tests/helpers/prompt-ids-run.ts', [tinyVL, promptsFile]);
  const inference = JSON.parse(stdout) as { ids: number[]; promptTokens: number }[];
  encoded.forEach((r, i) => {
    const first = r.labels.findIndex((l) => l !== -100);
    // every token before the first label is unlabelled, every token from it on labelled
    expect(r.labels.slice(0, first).every((l) => l === -100)).toBe(true);
    expect(r.labels.slice(first)).toEqual(r.ids.slice(first));
    expect(r.unlabelled).toBe(rows[i].prompt);
    expect(r.ids.slice(0, first)).toEqual(inference[i].ids); // what the judge is fed at inference
    expect(inference[i].promptTokens).toBe(first);
    expect(r.ids.at(-1)).toBe(r.eos);
    expect(r.labelled).toBe(`${rows[i].completion}<|im_end|>`);
  });
  expect(encoded.map((r) => parseJudgeLabel(r.labelledText).label)).toEqual(['YES', 'NO', 'OPEN']);
  expect(parseJudgeLabel(encoded[0].labelledText).keep).toBe(true);
}, 180_000);

test('a completion longer than max_length is cut at the end: the prompt stays whole while it fits', () => {
  const [full] = encode(rows.slice(0, 1));
  const first = full.labels.findIndex((l) => l !== -100);
  const [cut] = encode(rows.slice(0, 1), first + 1);
  expect(cut.ids).toEqual(full.ids.slice(0, first + 1));
  expect(cut.labels.filter((l) => l !== -100)).toHaveLength(1);
}, 120_000);

test('a row that is not {prompt, completion} text is refused naming the row', () => {
  expect(() => encode([rows[0], { messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yes' }] }])).toThrow(/train_file row 1: a completion row is/);
  expect(() => encode([{ prompt: 'Q', completion: '' }])).toThrow(/train_file row 0: a completion row is/);
  expect(() => encode([{ prompt: 'Q', completion: ' Yes', images: ['a.png'] }])).toThrow(/train_file row 0: a completion row is/);
});
