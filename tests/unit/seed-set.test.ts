// The synthesizer's training set from seed data (docs/method.md §5.2): the authors' seeded orders,
// blanking and split, checked against the conformance vectors of §13.
import { PyRandom } from '../../core/pyrandom';
import { synthesizerSet, type SeedImage } from '../../core/synth/seed-set';

const image = (i: number, task = 'counting'): SeedImage => ({
  image: `images/g_${i}.png`,
  caption: `caption ${i}`,
  precise: [{ question: `<image>\nHow many shapes are in image ${i}?`, answer: 'two', task }],
  informative: [{ question: `What is in image ${i}?\n<image>`, answer: `There are two shapes in image ${i}.`, task }],
});

test('the blank-image draw of §13: true only at positions 31 and 32 of 0–39', () => {
  const drawn = Array.from({ length: 40 }, (_, p) => new PyRandom(p).weightedChoice([true, false], [10, 90]));
  expect(drawn.flatMap((b, p) => (b ? [p] : []))).toEqual([31, 32]);
});

test('a caption turn, then hinted QAs in a seeded order; groups blanked at their seeded positions, split 90/10, train shuffled', () => {
  const seed = Array.from({ length: 40 }, (_, i) => image(i));
  const a = synthesizerSet(seed, 'blank.jpg');
  expect(synthesizerSet(seed, 'blank.jpg')).toEqual(a);
  expect([a.train.length, a.dev.length, a.skipped]).toEqual([36, 4, 0]);
  // one group of 40: Random(42) orders it, positions 31 and 32 are blanked (both in train)
  expect(a.blanked).toBe(2);
  expect([...a.train, ...a.dev].filter((r) => r.images[0] === 'blank.jpg')).toHaveLength(2);
  const row = [...a.train, ...a.dev].find((r) => r.messages[1].content === 'caption 7')!;
  expect(row.messages[0]).toEqual({ role: 'user', content: '<image>\nDescribe the image.' });
  // the image tag is removed from the questions, which carry their hint
  expect(row.messages.slice(2).map((m) => m.content).sort()).toEqual(
    ['Answer with a precise response.\nHow many shapes are in image 7?', 'two', 'Answer with an informative response.\nWhat is in image 7?', 'There are two shapes in image 7.'].sort(),
  );
  expect(row.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
});

test('images without a precise or an informative QA are skipped; groups split on their own; a misplaced image tag is refused', () => {
  const seed = [...Array.from({ length: 10 }, (_, i) => image(i, 'a')), ...Array.from({ length: 20 }, (_, i) => image(100 + i, 'b')), { ...image(999), informative: [] }];
  const s = synthesizerSet(seed, 'blank.jpg');
  expect(s.skipped).toBe(1);
  expect([s.train.length, s.dev.length]).toEqual([9 + 18, 1 + 2]);
  expect(() => synthesizerSet([{ ...image(1), precise: [{ question: 'How <image> many?', answer: 'x', task: 'a' }] }], 'b.jpg')).toThrow('image tag inside');
});
