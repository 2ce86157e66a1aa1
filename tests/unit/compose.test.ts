// Composition and assembly rules of docs/method.md §7–8, each checked on a hand-made case.
import { assembleConversation, captionInstruction, chooseRoute, composeSynthetic, fillTemplate } from '../../core/compose/compose';
import { BASIC_TEMPLATES, RATIONALE_TEMPLATES, validateTemplates } from '../../core/compose/templates';
import { PyRandom } from '../../core/pyrandom';

test('routing: A when the informative answer\'s last sentence concludes, B when the precise answer does, else C', () => {
  // "also " contains "so ": a plain substring test with no word boundaries.
  expect(chooseRoute({ question: 'q', informative: 'It is also baked', precise: 'Lasagna' })).toBe('A');
  // Only the last ". "-separated piece of the informative answer counts.
  expect(chooseRoute({ question: 'q', informative: 'So it looks. Layers of pasta', precise: 'Lasagna' })).toBe('C');
  // "answer " matches inside "the answer is".
  expect(chooseRoute({ question: 'q', informative: 'Layers of pasta', precise: 'The answer is lasagna' })).toBe('B');
  expect(chooseRoute({ question: 'q', informative: 'Layers of pasta suggest lasagna.', precise: 'Lasagna' })).toBe('C');
  // Case-insensitive, and the informative answer is stripped before splitting.
  expect(chooseRoute({ question: 'q', informative: '  THEREFORE IT IS SOUP  ', precise: 'x' })).toBe('A');
});

test('filling is single-pass and literal: $& and braces in values stay text', () => {
  expect(fillTemplate('Q: {question} A: {answer}', { question: 'cost $& {answer}?', answer: '{cot} $1' })).toBe('Q: cost $& {answer}? A: {cot} $1');
  expect(fillTemplate('{cot}', { question: 'x' })).toBe('{cot}');
});

test('both template draws come from fresh Random(synId) generators whatever the route', () => {
  const t = { question: 'Which dish?', informative: 'Layers of pasta suggest lasagna.', precise: 'Lasagna' };
  for (const synId of [0, 1, 7, 123]) {
    const p = composeSynthetic(t, synId);
    expect(p.basicTemplate).toBe(new PyRandom(synId).randbelow(BASIC_TEMPLATES.length));
    expect(p.rationaleTemplate).toBe(new PyRandom(synId).randbelow(RATIONALE_TEMPLATES.length));
    expect(p.route).toBe('C');
    const [inputs, targets] = RATIONALE_TEMPLATES[p.rationaleTemplate];
    expect(p.user).toBe(fillTemplate(inputs, { question: t.question, cot: t.informative, answer: t.precise }));
    expect(p.assistant).toBe(fillTemplate(targets, { question: t.question, cot: t.informative, answer: t.precise }));
  }
});

test('route B answers with the informative answer, one space, then the precise one', () => {
  const basic = [['{question}', '{answer}']] as const;
  const p = composeSynthetic({ question: 'Q?', informative: 'Long reasoning', precise: 'so it is soup' }, 5, basic, RATIONALE_TEMPLATES);
  expect(p).toMatchObject({ route: 'B', user: 'Q?', assistant: 'Long reasoning so it is soup' });
});

test('our template lists use only their placeholders and no stray braces; a bad list is caught', () => {
  expect(validateTemplates('basic', BASIC_TEMPLATES)).toEqual([]);
  expect(validateTemplates('rationale', RATIONALE_TEMPLATES)).toEqual([]);
  expect(validateTemplates('basic', [['{question} {cot}', '{answer} }']])).toEqual(['basic[0]: placeholder {cot} is not allowed', 'basic[0]: stray brace']);
});

test('the caption instruction loses every <image>\\n, then every remaining <image>', () => {
  expect(captionInstruction('<image>\nDescribe <image>the dish.<image>\n')).toBe('Describe the dish.');
});

test('placement follows Random(keptId); <image>\\n goes on the first user turn, whichever task it is', () => {
  const synthetic = { user: 'What is it?', assistant: 'Soup.' };
  for (const keptId of [0, 1, 2, 3, 4]) {
    const a = assembleConversation('<image>Describe the dish.', 'A bowl of soup.', synthetic, keptId);
    if (!a.ok) throw new Error(a.reason);
    const expected = new PyRandom(keptId).choice(['start', 'end']);
    expect(a.placement).toBe(expected);
    const first = expected === 'start' ? 'Describe the dish.' : 'What is it?';
    expect(a.messages[0]).toEqual({ role: 'user', content: `<image>\n${first}` });
    expect(a.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  }
  // keptId 0 draws "end": the synthetic task comes first (docs/method.md §13 vectors).
  expect(assembleConversation('x', 'cap', synthetic, 0)).toMatchObject({ placement: 'end' });
});

test('a caption-only example has two turns and keeps the caption verbatim', () => {
  const a = assembleConversation('<image>Describe.', '  Soup, hot.  ', null, 1);
  expect(a).toEqual({ ok: true, placement: 'start', messages: [{ role: 'user', content: '<image>\nDescribe.' }, { role: 'assistant', content: '  Soup, hot.  ' }] });
});

test('an <image> tag inside any message text rejects the item (D12) instead of aborting the run', () => {
  expect(assembleConversation('Describe.', 'cap', { user: 'Look at <image> here', assistant: 'ok' }, 1)).toEqual({ ok: false, reason: 'image tag inside message text' });
  expect(assembleConversation('Describe.', 'a <image> caption', null, 1)).toMatchObject({ ok: false });
});
