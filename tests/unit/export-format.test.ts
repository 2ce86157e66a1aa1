import { validateExportedRow } from '../../activities/export/llama-factory';
import { specDiff } from '../../cli/runs/format';
import { canonicalJson, hashJson } from '../../activities/hashing/canonical-json';
import { tripletHash } from '../../activities/synthesize/rules-stage';
import { ruleRejection } from '../../activities/filter/rules-stage';

const ok = { messages: [{ role: 'user' as const, content: '<image>\nDescribe.' }, { role: 'assistant' as const, content: 'Soup.' }], images: ['/a.jpg'] };

test('exported rows: 2 or 4 alternating turns, <image>\\n first, exactly one image', () => {
  expect(validateExportedRow(ok)).toBeNull();
  expect(validateExportedRow({ ...ok, images: [] })).toBe('images must hold exactly one path');
  expect(validateExportedRow({ ...ok, messages: [ok.messages[0]] })).toBe('messages must hold 2 or 4 turns');
  expect(validateExportedRow({ ...ok, messages: [ok.messages[1], ok.messages[0]] })).toBe('turn 0 must be user');
  expect(validateExportedRow({ ...ok, messages: [{ role: 'user', content: 'Describe.' }, ok.messages[1]] })).toBe('first turn must start with "<image>\\n"');
});

test('spec hashes ignore key order; diffs name changed paths', () => {
  expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe('{"a":{"c":null,"d":[1,2]},"b":1}');
  expect(hashJson({ a: 1, b: 2 })).toBe(hashJson({ b: 2, a: 1 }));
  expect(specDiff({ a: 1, s: { x: 1, y: [1] } }, { a: 1, s: { x: 2, y: [1], z: true } })).toEqual(['s.x: 1 → 2', 's.z: undefined → true']);
});

test('task hashes ignore case and whitespace runs', () => {
  expect(tripletHash({ question: 'What  is it?', informative: 'Soup', precise: 'soup' })).toBe(tripletHash({ question: 'what is it? ', informative: 'SOUP', precise: 'Soup' }));
  expect(tripletHash({ question: 'a', informative: 'b', precise: 'c' })).not.toBe(tripletHash({ question: 'a', informative: 'bc', precise: '' }));
});

test('rule filter: empty and overlong (in code points) tasks are rejected', () => {
  const s = { maxQuestionChars: 5, maxAnswerChars: 3 };
  expect(ruleRejection({ question: ' ', informative: 'a', precise: 'b' }, s)).toBe('empty question');
  expect(ruleRejection({ question: 'q', informative: '', precise: 'b' }, s)).toBe('empty answer');
  expect(ruleRejection({ question: '😀😀😀😀😀', informative: 'a', precise: 'b' }, s)).toBeNull();
  expect(ruleRejection({ question: 'q', informative: 'abcd', precise: 'b' }, s)).toBe('overlong answer: more than 3 characters');
  expect(ruleRejection({ question: 'toolong', informative: 'a', precise: 'b' }, s)).toBe('overlong question: more than 5 characters');
});
