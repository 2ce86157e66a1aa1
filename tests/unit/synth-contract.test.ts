// The synthesizer contract (docs/method.md §4.2–4.6, §5.1) and the judge prompt (§6), by hand.
import { collectTriplet, LLAMA3_SYNTH, parseQaTurns, parseSynthesis, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import { judgePrompt, parseJudgeLabel } from '../../core/judge/prompt';

const P = 'Answer with a precise response.\n';
const I = 'Answer with an informative response.\n';
const UH = '<|start_header_id|>user<|end_header_id|>\n\n';
const SEP = '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n';
const EOT = '<|eot_id|>';

test('the released synthesizer prompt, byte for byte, with the caption verbatim', () => {
  expect(synthesisPrompt(LLAMA3_SYNTH, ' Soup, hot. ')).toBe(
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n<|reserved_special_token_4|>\nDescribe the image.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n Soup, hot. <|eot_id|><|start_header_id|>user<|end_header_id|>\n\n',
  );
  expect(LLAMA3_SYNTH).toMatchObject({ endId: 128001, tokenizerAddsBos: true });
  expect(() => synthesisPrompt(LLAMA3_SYNTH, '  ')).toThrow('D11');
});

test('the Qwen2-VL prompt puts a newline after the image slot and opens a user turn', () => {
  expect(synthesisPrompt(QWEN2VL_SYNTH, 'Soup.')).toBe(
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>\nDescribe the image.<|im_end|>\n<|im_start|>assistant\nSoup.<|im_end|>\n<|im_start|>user\n',
  );
  expect(QWEN2VL_SYNTH).toMatchObject({ endId: 151643, tokenizerAddsBos: false, TURN_END: '<|im_end|>\n' });
});

test('conformance: precise QA, informative QA on the same question, then a cut-off turn (§13)', () => {
  const text = `${P}What is in the bowl?${SEP}Soup${EOT}${UH}${I}What is in the bowl?${SEP}The bowl holds tomato soup.${EOT}${UH}${P}What colour?${SEP}Re`;
  const pairs = parseQaTurns(text, LLAMA3_SYNTH);
  expect(pairs).toEqual([
    { question: `${P}What is in the bowl?`, answer: 'Soup' },
    { question: `${I}What is in the bowl?`, answer: 'The bowl holds tomato soup.' },
  ]);
  expect(collectTriplet(pairs)).toEqual({ question: 'What is in the bowl?', precise: 'Soup', informative: 'The bowl holds tomato soup.' });
});

test('the answer loses its last 10 code points unconditionally when the text ends with the terminator', () => {
  // The final piece ends with EOT (10 characters) and is kept; every answer is cut by 10.
  const text = `${P}Q?${SEP}Short answer here${EOT}`;
  expect(parseQaTurns(text, LLAMA3_SYNTH)).toEqual([{ question: `${P}Q?`, answer: 'Short answer here' }]);
  // A piece that is not the last still carries its EOT, which is what the trim removes.
  const emojiText = `${P}Q?${SEP}😀😀${EOT}`;
  expect(parseQaTurns(emojiText, LLAMA3_SYNTH)[0].answer).toBe('😀😀');
});

test('malformed pieces are skipped silently: no separator, two separators, empty question or answer', () => {
  const text = [`${P}no separator here${EOT}`, `${P}Q1?${SEP}a${SEP}b${EOT}`, `   ${SEP}answer${EOT}`, `${P}Q2?${SEP}${EOT}`, `${P}Q3?${SEP}ok${EOT}`].join(UH);
  expect(parseQaTurns(text, LLAMA3_SYNTH)).toEqual([{ question: `${P}Q3?`, answer: 'ok' }]);
});

test('triplet: only the first question seen in both modes; keys match exactly; later precise answers overwrite', () => {
  const pairs = [
    { question: `${P}Q a`, answer: 'first' },
    { question: `${P}Q a`, answer: 'second' }, // overwrites
    { question: `${I}q a`, answer: 'case differs: no match' },
    { question: `${I}Q a`, answer: 'long' },
    { question: `${P}Q b`, answer: 'ignored after the walk stops' },
    { question: 'no hint', answer: 'ignored' },
  ];
  expect(collectTriplet(pairs)).toEqual({ question: 'Q a', precise: 'second', informative: 'long' });
  expect(collectTriplet([{ question: `${P}Q`, answer: 'x' }])).toBeNull();
});

test('parse outcome says why an output gives no triplet', () => {
  expect(parseSynthesis('garbage', LLAMA3_SYNTH)).toMatchObject({ ok: false, reason: expect.stringContaining('unparsable output') });
  expect(parseSynthesis(`${P}Q?${SEP}a${EOT}`, LLAMA3_SYNTH)).toMatchObject({ ok: false, reason: expect.stringContaining('no triplet') });
  const qwen = `${P}Q?<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n<|im_start|>user\n${I}Q?<|im_end|>\n<|im_start|>assistant\nA long one.<|im_end|>\n`;
  expect(parseSynthesis(qwen, QWEN2VL_SYNTH)).toMatchObject({ ok: true, triplet: { question: 'Q?', precise: 'A', informative: 'A long one.' } });
});

test('judge prompt: six demonstrations No, Open, Yes, Yes, No, Open; ends right after the colon; literal filling', () => {
  const p = judgePrompt('What costs $&?', 'It says {precise} and $1.', 'Two');
  expect(p.endsWith('Question: What costs $&?\nDetailed answer: It says {precise} and $1.\nShort answer: Two\nConsistent:')).toBe(true);
  const labels = [...p.matchAll(/\nConsistent: (\w+)/g)].map((m) => m[1]);
  expect(labels).toEqual(['No', 'Open', 'Yes', 'Yes', 'No', 'Open']);
  expect(p.split('\n\n')).toHaveLength(8); // task, six demonstrations, the query
});

test('judge label: only exactly "yes" after strip and lower-casing keeps the task', () => {
  expect(parseJudgeLabel(' Yes\n')).toEqual({ label: 'YES', keep: true });
  expect(parseJudgeLabel(' No')).toEqual({ label: 'NO', keep: false });
  expect(parseJudgeLabel(' Open\n')).toEqual({ label: 'OPEN', keep: false });
  for (const t of [' Yes.', ' yes,', '', ' Maybe']) expect(parseJudgeLabel(t)).toEqual({ label: 'OTHER', keep: false });
});
