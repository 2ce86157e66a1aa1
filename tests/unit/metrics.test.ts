// Every metric rule and quirk of docs/method.md §10, one case each, with the value worked out.
import { normalizeWord } from '../../core/eval/normalize';
import { closedHit, f1score, openRecall } from '../../core/eval/vqa';
import { parseMultipleChoice } from '../../core/eval/multiple-choice';
import { parseMultiLabel, sampleF1, sampleRecall } from '../../core/eval/multilabel';
import { rougeL, RECURSION_STEP_LIMIT } from '../../core/eval/rouge';
import { Aggregator, FOODSEG_VOCAB, NUTRITION_VOCAB, TASKS, findTask, food101Id } from '../../core/eval/tasks';

describe('normalize_word', () => {
  test.each([
    ['the left lung.', 'left lung'], // period deleted, article dropped
    ['no, there is none', 'no there is 0'], // ", " is spaced: deleted; none → 0
    ['3,000 cells', '3000 cells'], // digit-comma-digit: every mark is deleted, not spaced
    ['yes/no', 'yes no'], // "/" not spaced: replaced by a space
    ['two (2) lesions', '2 2 lesions'], // " (" and ") " spaced: deleted; two → 2
    ['1.5 cm', '1.5 cm'], // a period before a digit stays
    ["it's a ct scan", "it's ct scan"], // no apostrophe in the mark list
  ])('%j → %j', (input, want) => expect(normalizeWord(input)).toBe(want));

  test('punctuation tests read the input, not the working copy', () => {
    // "-" alone is replaced by a space; "(" is spaced in the input (" (") so it is deleted.
    expect(normalizeWord('x-ray (left)')).toBe('x ray left');
  });

  test('a digit-comma-digit anywhere turns every replacement into a deletion', () => {
    expect(normalizeWord('yes/no 1,2')).toBe('yesno 12');
  });

  test('at most 32 periods go (docs/method.md §13)', () => {
    const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');
    const input = [...letters, ...letters.slice(0, 10)].map((c) => `${c}.`).join(' ');
    // 36 periods: the first 32 are deleted; "a" (twice) is an article and dropped.
    expect(normalizeWord(input)).toBe('b c d e f g h i j k l m n o p q r s t u v w x y z b c d e f g. h. i. j.');
  });

  test('articles are dropped after the number mapping; contractions from the table', () => {
    expect(normalizeWord('dont know an answer')).toBe("don't know answer");
    expect(normalizeWord('none of the one')).toBe('0 of 1');
  });
});

describe('OPEN recall and CLOSED', () => {
  test.each([
    ['the the lung', 'lung the', { f1: 1, precision: 1, recall: 1 }],
    ['left lung', 'right lung', { f1: 0.5, precision: 0.5, recall: 0.5 }],
    ['lung', '', { f1: 0, precision: 0, recall: 0 }],
    ['', 'lung', { f1: 0, precision: 0, recall: 0 }],
    // "x-ray of the chest" → "x ray of chest": TP 3, FP 0, FN 1 (of).
    ['chest x ray', 'x-ray of the chest', { f1: 0.8571428571428571, precision: 1.0, recall: 0.75 }],
  ])('f1score(%j, %j)', (cand, ref, want) => expect(f1score(cand, ref)).toEqual(want));

  test('TP counts the candidate occurrences, so repetition cannot lower recall', () => {
    expect(openRecall('MRI MRI MRI', 'mri')).toBe(1.0);
  });

  test.each([
    ['Yes, it is not normal.', 'no', true], // "no" inside "not"
    ['The image shows eyes', 'yes', true], // "yes" inside "eyes"
    ["I don't know", 'no', true], // "no" inside "know"
    ['Absent', 'yes', false],
  ])('CLOSED %j with gold %j', (pred, gold, hit) => expect(closedHit(pred, gold)).toBe(hit));
});

describe('multiple-choice parser', () => {
  const abcd = ['A', 'B', 'C', 'D'];
  const organs = new Map([['A', 'heart'], ['B', 'liver'], ['C', 'lung'], ['D', 'kidney']]);
  test.each([
    ['(B) Lung', 0, 'B', 'bracket'],
    ['The answer is C.', 0, 'C', 'spaced'], // "." stripped, then " C "
    ['A or B? I think B', 0, 'B', 'spaced'], // both spaced: the last occurrence wins
    ['It shows the liver, not the heart', 0, 'A', 'content'], // heart occurs last
    ['unsure', 3, 'B', 'random'], // Random(3).choice(ABCD)
    ["'A.'", 5, 'C', 'random'], // → "A." (the "." was enclosed), 4 code points: no content stage
  ])('%j (seed %i) → %s', (resp, seed, want, stage) => {
    expect(parseMultipleChoice(resp as string, abcd, organs, seed as number)).toMatchObject({ answer: want, stage });
  });

  test('ties go to the earliest candidate', () => {
    // Both texts end at the same place only if equal; use identical option texts to force a tie.
    expect(parseMultipleChoice('a long answer about liver', abcd, new Map([['A', 'liver'], ['B', 'liver'], ['C', 'x'], ['D', 'y']]), 0).answer).toBe('A');
  });

  test('Food101: numbers win over names; names match as substrings, last one wins', () => {
    const t = TASKS.Food101;
    const score = (pred: string, label: string, index = 0) => t.scoreRow({ pred, label }, index, { f1Convention: 'sklearn>=1.3' });
    expect(score('This is apple pie.', 'apple_pie')).toMatchObject({ score: 100, parsed: '0', stage: 'content' });
    expect(score('no idea', 'apple_pie', 2)).toMatchObject({ parsed: '7', random: true });
    expect(score('(3)', 'beef_carpaccio')).toMatchObject({ parsed: '3', score: 100 });
    expect(score('hot dog or maybe a hamburger', 'hamburger')).toMatchObject({ parsed: '53', score: 100 });
    expect(food101Id('hot dog')).toBe(55);
  });
});

describe('multi-label parser and per-image scores', () => {
  test.each([
    ['The image contains egg tart, French fries and steak with tea.', [3, 2, 46, 16]],
    ['popcorn and corn', [6, 59]], // "popcorn" consumed first, then "corn" still matches on its own
    ['Ingredients: rice, chicken duck, bread', [48, 58, 66]],
  ])('FoodSeg103 %j → %j', (resp, ids) => expect(parseMultiLabel(resp, FOODSEG_VOCAB)).toEqual(ids));

  test('longest first: "steak" is consumed before "tea" can match inside it, but "tea" matches in "steamed"', () => {
    const steak = FOODSEG_VOCAB.pairs.find(([, n]) => n === 'steak')![0];
    const tea = FOODSEG_VOCAB.pairs.find(([, n]) => n === 'tea')![0];
    expect(parseMultiLabel('steak', FOODSEG_VOCAB)).toEqual([steak]);
    expect(parseMultiLabel('steamed', FOODSEG_VOCAB)).toContain(tea);
  });

  test('F1 with zero_division = 1 in both scikit-learn conventions', () => {
    const s = (p: number[], g: number[], c: 'sklearn>=1.3' | 'sklearn-1.2') => sampleF1(new Set(p), new Set(g), c);
    expect(s([], [], 'sklearn>=1.3')).toBe(1); // nothing to find, nothing found: 100
    expect(s([], [], 'sklearn-1.2')).toBe(1);
    expect(s([1], [], 'sklearn-1.2')).toBe(0); // P = 0, R = 1 (zero division) → 2·0·1/1 = 0
    // TP 1 (id 2), FP 1 (id 1), FN 2 (ids 3, 4): 2·1/(2·1 + 1 + 2) = 0.4; P 0.5, R 1/3 → 2PR/(P+R) = 0.4 too.
    expect(s([1, 2], [2, 3, 4], 'sklearn>=1.3')).toBe(0.4);
    expect(s([1, 2], [2, 3, 4], 'sklearn-1.2')).toBeCloseTo(0.4, 15);
  });

  test('recall: 1 for a row without gold ids', () => {
    expect(sampleRecall(new Set([1]), new Set())).toBe(1);
    expect(sampleRecall(new Set([1]), new Set([1, 2]))).toBe(0.5);
  });

  test('Nutrition5K: "deprecated" is listed four times; gold takes the last id, the parser emits the first (D15)', () => {
    expect(parseMultiLabel('deprecated', NUTRITION_VOCAB)).toEqual([230]);
    const row = TASKS.Nutrition5K.scoreRow({ pred: 'deprecated and bacon', label: ['deprecated', 'bacon'] }, 0, { f1Convention: 'sklearn>=1.3' });
    expect(row.score).toBe(50);
  });
});

describe('ROUGE-L (pltrdy, exclusive)', () => {
  test.each([
    ['a a a b', 'a b b', 99.9999995],
    ['Hello. ', 'Hello world.', 49.99999950000001], // the empty token counts
    ['Preheat oven. Mix flour and sugar.', 'Preheat the oven to 350. Mix flour, sugar and eggs.', 49.999999531250005],
    ['...', 'abc', 0], // no sentence: the original raises → 0
  ])('%j vs %j', (hyp, ref, want) => expect(rougeL(hyp, ref).score).toBe(want));

  test('non-text and empty predictions score 0 and say why', () => {
    expect(rougeL(null, 'abc')).toEqual({ score: 0, error: 'not text' });
    expect(rougeL('', 'abc')).toEqual({ score: 0, error: 'no sentence' });
  });

  test('a backtrack longer than the recursion limit scores 0, flagged (D16)', () => {
    const long = Array.from({ length: RECURSION_STEP_LIMIT + 10 }, (_, i) => `w${i}`).join(' ');
    expect(rougeL(long, long)).toEqual({ score: 0, error: 'recursion limit' });
    const short = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    expect(rougeL(short, short).score).toBe(99.9999995);
  });
});

describe('aggregation', () => {
  test('VQA: OPEN divides then multiplies; CLOSED is 0.0 without rows; OPEN null without rows (D10)', () => {
    const t = findTask('vqa-rad');
    const a = new Aggregator();
    const rows = [
      { pred: 'left lung', label: 'right lung', answer_type: 'OPEN' },
      { pred: 'chest x ray', label: 'x-ray of the chest', answer_type: 'OPEN' },
      { pred: null, label: 'lung', answer_type: 'OPEN' }, // missing: 0, kept in N (D9)
      { pred: 'whatever', label: 'x', answer_type: 'OTHER' }, // counts only in test_num
    ];
    rows.forEach((r, i) => a.add(t.scoreRow(r, i, { f1Convention: 'sklearn>=1.3' })));
    expect(t.aggregate(a)).toEqual({ test_num: 4, 'OPEN recall': ((0.5 + 0.75 + 0) / 3) * 100, 'CLOSED yes/no accuracy': 0.0 });
    expect(a.missing).toBe(1);
    const closedOnly = new Aggregator();
    closedOnly.add(t.scoreRow({ pred: 'yes', label: 'yes', answer_type: 'CLOSED' }, 0, { f1Convention: 'sklearn>=1.3' }));
    expect(t.aggregate(closedOnly)).toEqual({ test_num: 1, 'OPEN recall': null, 'CLOSED yes/no accuracy': 100 });
  });

  test('task names resolve loosely and unknown ones are refused', () => {
    expect(findTask('PMC-VQA').name).toBe('PMC_VQA');
    expect(findTask('foodseg103').name).toBe('FoodSeg103');
    expect(() => findTask('MMMU')).toThrow('unknown task "MMMU"');
  });
});
