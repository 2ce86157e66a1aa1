// The paired, stratified bootstrap behind the demo table's "vs base" intervals
// (core/eval/paired-bootstrap.ts).
import { nearestRankIndex, pairedBootstrap } from '../../core/eval/paired-bootstrap';

const repeat = (n: number, x: number) => Array.from({ length: n }, () => x);

test('a model that answers every row as the base does differs by exactly 0', () => {
  const base = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? 100 : 0));
  expect(pairedBootstrap([{ base, other: base }])).toMatchObject({ delta: 0, low: 0, high: 0 });
});

test('a model better by the same amount on every row gets an interval of that amount alone (pairing removes the rows\' own spread)', () => {
  const base = Array.from({ length: 80 }, (_, i) => (i * 37) % 90);
  const r = pairedBootstrap([{ base, other: base.map((x) => x + 10) }]);
  expect(r.delta).toBeCloseTo(10, 10);
  expect(r.low).toBeCloseTo(10, 10);
  expect(r.high).toBeCloseTo(10, 10);
});

test('the difference is the mean of the columns\' differences, not of all rows pooled', () => {
  // 10 rows better by 30, 90 rows equal: column means differ by 30 and 0, so the metric by 15
  // (pooled over the 100 rows it would be 3)
  const r = pairedBootstrap([
    { base: repeat(10, 0), other: repeat(10, 30) },
    { base: repeat(90, 50), other: repeat(90, 50) },
  ]);
  expect(r.delta).toBeCloseTo(15, 10);
  // each column keeps its rows: every resample sees the same two column means
  expect(r.low).toBeCloseTo(15, 10);
  expect(r.high).toBeCloseTo(15, 10);
});

test('the 95 % interval of an accuracy difference is about ±1.96 standard errors', () => {
  // 200 rows: the other model wins 40, loses 20, ties 140. Differences d in {+100, -100, 0}:
  // mean 10, sd = sqrt(60·100²/200 − 10²) = 53.9, standard error 3.81, so ~[2.5, 17.5]
  const base: number[] = [];
  const other: number[] = [];
  for (let i = 0; i < 200; i++) {
    const [b, o] = i < 40 ? [0, 100] : i < 60 ? [100, 0] : i % 2 ? [100, 100] : [0, 0];
    base.push(b);
    other.push(o);
  }
  const r = pairedBootstrap([{ base, other }], { resamples: 4000 });
  expect(r.delta).toBeCloseTo(10, 10);
  expect(r.low).toBeGreaterThan(10 - 7.47 - 1.2);
  expect(r.low).toBeLessThan(10 - 7.47 + 1.2);
  expect(r.high).toBeGreaterThan(10 + 7.47 - 1.2);
  expect(r.high).toBeLessThan(10 + 7.47 + 1.2);
  expect(r).toMatchObject({ level: 0.95, resamples: 4000 });
});

test('the same seed gives the same interval; another seed a slightly different one', () => {
  // scores that are not whole numbers, so two seeds' interval ends cannot coincide by rounding
  const base = Array.from({ length: 100 }, (_, i) => ((i * 37) % 101) / 1.7);
  const other = base.map((x, i) => x + ((i * 13) % 17) - 5.3);
  const a = pairedBootstrap([{ base, other }], { seed: 1 });
  expect(pairedBootstrap([{ base, other }], { seed: 1 })).toEqual(a);
  const b = pairedBootstrap([{ base, other }], { seed: 2 });
  expect(b.delta).toBe(a.delta);
  expect([b.low, b.high]).not.toEqual([a.low, a.high]);
  expect(Math.abs(b.low - a.low)).toBeLessThan(0.5);
  expect(Math.abs(b.high - a.high)).toBeLessThan(0.5);
});

test('the ends are the nearest-rank 2.5th and 97.5th percentiles, whatever the float noise in (1 − level) / 2', () => {
  const tail = (1 - 0.95) / 2; // 0.025000000000000022
  expect(nearestRankIndex(tail, 2000)).toBe(49); // the 50th smallest
  expect(nearestRankIndex(1 - tail, 2000)).toBe(1949); // the 1,950th
  expect(nearestRankIndex(tail, 40)).toBe(0);
  expect(nearestRankIndex(1 - tail, 40)).toBe(38);
  expect(nearestRankIndex(0.5, 5)).toBe(2); // the median of 5
  expect(nearestRankIndex(0, 10)).toBe(0);
  expect(nearestRankIndex(1, 10)).toBe(9);
});

test('unpaired or empty columns and a bad level are refused with the reason', () => {
  expect(() => pairedBootstrap([])).toThrow('no columns');
  expect(() => pairedBootstrap([{ base: [1], other: [1] }, { base: [1, 2], other: [1] }])).toThrow('column 1 has 2 base scores and 1 for the other model');
  expect(() => pairedBootstrap([{ base: [], other: [] }])).toThrow('column 0 has no rows');
  expect(() => pairedBootstrap([{ base: [1], other: [2] }], { level: 95 })).toThrow('level 95');
  expect(() => pairedBootstrap([{ base: [1], other: [2] }], { resamples: 0 })).toThrow('resamples 0');
});
