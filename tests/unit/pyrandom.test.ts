// CPython random.Random conformance (docs/method.md §13): these vectors come from CPython 3.11.
import { PyRandom } from '../../core/pyrandom';

test('getrandbits(32) matches CPython for small, large and negative seeds', () => {
  const want: [number, number][] = [[0, 3626764237], [1, 577090037], [42, 2746317213], [2 ** 32, 485306839], [-5, 2675342405]];
  for (const [seed, bits] of want) expect(new PyRandom(seed).getrandbits(32)).toBe(bits);
});

test('random() matches CPython', () => {
  const want: [number, number][] = [[0, 0.8444218515250481], [1, 0.13436424411240122], [2, 0.9560342718892494], [3, 0.23796462709189137], [42, 0.6394267984578837]];
  for (const [seed, x] of want) expect(new PyRandom(seed).random()).toBe(x);
});

test('choice uses bit_length(n) rejection sampling', () => {
  const seeds = [0, 1, 2, 3, 4];
  expect(seeds.map((s) => new PyRandom(s).choice(['start', 'end']))).toEqual(['end', 'start', 'start', 'start', 'start']);
  expect(seeds.map((s) => new PyRandom(s).choice(['A', 'B', 'C', 'D']))).toEqual(['D', 'B', 'A', 'B', 'B']);
  const ids = Array.from({ length: 101 }, (_, i) => String(i));
  expect(seeds.map((s) => new PyRandom(s).choice(ids))).toEqual(['49', '17', '7', '30', '30']);
  // The authors' template picks for synId 0-4 (n = 79 and n = 210).
  expect(seeds.map((s) => new PyRandom(s).randbelow(79))).toEqual([49, 17, 7, 30, 30]);
  expect(seeds.map((s) => new PyRandom(s).randbelow(210))).toEqual([98, 34, 14, 60, 60]);
});

test('shuffle and weighted choices match CPython', () => {
  const range = () => Array.from({ length: 10 }, (_, i) => i);
  expect(new PyRandom(42).shuffle(range())).toEqual([7, 3, 2, 8, 5, 6, 9, 4, 0, 1]);
  expect(new PyRandom(12345).shuffle(range())).toEqual([8, 7, 3, 5, 1, 2, 9, 4, 0, 6]);
  const blank = Array.from({ length: 40 }, (_, p) => new PyRandom(p).weightedChoice([true, false], [10, 90]));
  expect(blank.flatMap((b, p) => (b ? [p] : []))).toEqual([31, 32]);
});

test('bad arguments are refused with a clear error', () => {
  expect(() => new PyRandom(1.5)).toThrow('safe integer');
  expect(() => new PyRandom(0).choice([])).toThrow('empty sequence');
  expect(() => new PyRandom(0).getrandbits(33)).toThrow('1..32');
});
