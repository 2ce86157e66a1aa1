// The trainer's synthesizer sequence (docs/method.md §5.3) against the synthesize stage's prompt
// (core/synth/contract.ts): the unlabelled part of a training sequence is the prompt the stage
// sends, the labelled part is what the synthesizer must then write (tasks, then <|endoftext|>),
// and the stage's parser reads it back as the tasks it was trained on. Two renderers, one
// contract: this test is what keeps them the same.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { parseSynthesis, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import { tempDir } from '../helpers/env';

const ROOT = path.join(__dirname, '..', '..');
const tinyVL = path.join(ROOT, 'models', 'out', 'qwen2vl-tiny');
const P = 'Answer with a precise response.';
const I = 'Answer with an informative response.';

/** Token ids and labels of each row as the trainer encodes them, decoded back to text. */
function encode(rows: object[], sequence: string): { text: string; unlabelled: string; labelled: string; reason: string | null }[] {
  const dir = tempDir('synth-seq');
  const file = path.join(dir, 'rows.json');
  fs.writeFileSync(file, JSON.stringify(rows));
  const code = `
import json, sys
from adamllm_trainer.config import TrainConfig
from adamllm_trainer.data import Encoder, iter_rows
cfg = TrainConfig(base_model=sys.argv[1], train_file=sys.argv[2], output_dir=sys.argv[3], sequence=sys.argv[4])
enc = Encoder(cfg)
out = []
for _, row in iter_rows(cfg):
    ex, reason = enc.encode(row)
    if ex is None:
        out.append({"text": "", "unlabelled": "", "labelled": "", "reason": reason}); continue
    ids, labels = ex["input_ids"].tolist(), ex["labels"].tolist()
    first = next(i for i, l in enumerate(labels) if l != -100)
    out.append({"text": enc.tok.decode(ids), "unlabelled": enc.tok.decode(ids[:first]),
                "labelled": enc.tok.decode([t for t, l in zip(ids, labels) if l != -100]), "reason": None})
print(json.dumps(out))
`;
  const stdout = execFileSync(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', code, tinyVL, file, dir, sequence], { env: { ...process.env, PYTHONPATH: path.join(ROOT, 'trainer') }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

const oneImagePad = (s: string) => s.replace(/(<\|image_pad\|>)+/g, '<|image_pad|>');

const image = path.join(tinyVL, '..', 'reference_image.png');
const caption = 'Three round cells with dark nuclei on a pink slide.';
const synthRow = {
  images: [image],
  messages: [
    { role: 'user', content: '<image>\nDescribe the image.' },
    { role: 'assistant', content: caption },
    { role: 'user', content: `${P}\nHow many cells are there?` },
    { role: 'assistant', content: 'Three' },
    { role: 'user', content: `${I}\nHow many cells are there?` },
    { role: 'assistant', content: 'There are three round cells on the slide.' },
  ],
};

test('synthesizer sequence: the caption turn is the stage\'s prompt (unlabelled), the tasks and <|endoftext|> are labelled, and the parser reads them back', () => {
  const [r] = encode([synthRow], 'synthesizer');
  const prompt = synthesisPrompt(QWEN2VL_SYNTH, caption);
  const written = `${QWEN2VL_SYNTH.USER_OPEN}${P}\nHow many cells are there?${QWEN2VL_SYNTH.QA_SEP}Three${QWEN2VL_SYNTH.TURN_END}` +
    `${QWEN2VL_SYNTH.USER_OPEN}${I}\nHow many cells are there?${QWEN2VL_SYNTH.QA_SEP}There are three round cells on the slide.${QWEN2VL_SYNTH.TURN_END}${QWEN2VL_SYNTH.END}`;
  expect(oneImagePad(r.text)).toBe(`${prompt}${written.slice(QWEN2VL_SYNTH.USER_OPEN.length)}`);
  // the prompt's open user header is the first labelled token: the model learns to open a task turn
  expect(oneImagePad(r.unlabelled) + QWEN2VL_SYNTH.USER_OPEN).toBe(prompt);
  expect(r.labelled).toBe(written);
  // what the synthesize stage would parse from that continuation (generation stops before END)
  const generated = r.labelled.slice(QWEN2VL_SYNTH.USER_OPEN.length, -QWEN2VL_SYNTH.END.length);
  expect(parseSynthesis(generated, QWEN2VL_SYNTH)).toMatchObject({ ok: true, triplet: { question: 'How many cells are there?', precise: 'Three', informative: 'There are three round cells on the slide.' } });
}, 120_000);

test('chat sequence is unchanged: only assistant turns are labelled, no end-of-synthesis token', () => {
  const [r] = encode([{ images: [image], messages: synthRow.messages.slice(0, 2) }], 'chat');
  expect(r.labelled).toBe(`${caption}<|im_end|>\n`);
  expect(r.text).not.toContain('<|endoftext|>');
});

test('a synthesizer row without task turns is refused naming the row', () => {
  expect(() => encode([synthRow, { images: [image], messages: synthRow.messages.slice(0, 2) }], 'synthesizer')).toThrow(/train_file row 1: a synthesizer row is a caption turn/);
});
