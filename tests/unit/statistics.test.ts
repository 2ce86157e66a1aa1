// The statistics of a base-vs-adapted score (core/eval/statistics.ts) against SciPy and
// statsmodels (tests/oracles/statistics_oracle.py, in .venv from scripts/setup.sh) to 1e-6, the
// bootstraps against the same loops over CPython's random.Random; and the cases a reviewer
// checks by hand: the intervals at 0 % and 100 %, no discordant pair, one row per image.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PyRandom } from '../../core/pyrandom';
import { bootstrapMeanInterval, holm, mcnemarExact, minimumDetectableDifference, pairedClusterBootstrap, wilsonInterval, type PairedRow } from '../../core/eval/statistics';

const root = path.join(__dirname, '..', '..');
const python = path.join(root, '.venv', 'bin', 'python');

/** Outcomes as booleans with `b` rows only the base gets right and `c` only the other. */
function discordant(b: number, c: number, both = 5, neither = 3): { base: boolean[]; other: boolean[] } {
  const base = [...Array(b).fill(true), ...Array(c).fill(false), ...Array(both).fill(true), ...Array(neither).fill(false)];
  const other = [...Array(b).fill(false), ...Array(c).fill(true), ...Array(both).fill(true), ...Array(neither).fill(false)];
  return { base, other };
}

/** Seeded rows: `images` images with 1 to `perImage` questions each, scores correlated within an image. */
function rowsOf(images: number, perImage: number, seed: number, binary = true): PairedRow[] {
  const r = new PyRandom(seed);
  const rows: PairedRow[] = [];
  for (let i = 0; i < images; i++) {
    const ease = r.random();
    const questions = 1 + r.randbelow(perImage);
    for (let q = 0; q < questions; q++) {
      const base = binary ? Number(r.random() < ease * 0.6) : ease * 0.6 * r.random();
      const other = binary ? Number(r.random() < ease * 0.8) : ease * 0.8 * r.random();
      rows.push({ cluster: `img-${i}`, base, other });
    }
  }
  return rows;
}

const cases = {
  wilson: [
    [0, 20, 0.95],
    [20, 20, 0.95],
    [7, 20, 0.95],
    [1, 1, 0.9],
    [153, 400, 0.95],
    [3, 1000, 0.99],
  ] as [number, number, number][],
  mcnemar: [
    [0, 0],
    [3, 9],
    [10, 10],
    [1, 25],
    [40, 57],
  ] as [number, number][],
  holm: [[0.01, 0.04, 0.03, 0.2], [0.5], [0.001, 0.001, 0.9], [0.02, 0.03]],
  mdd: [
    [0.5, 100, 0.05, 0.8],
    [0.31, 400, 0.05, 0.8],
    [1, 30, 0.01, 0.9],
  ] as [number, number, number, number][],
  bootstrapMean: [
    { scores: Array.from({ length: 57 }, (_, i) => ((i * 37) % 11) / 10), resamples: 500, seed: 3, level: 0.95 },
    { scores: [0, 1, 1, 0, 1], resamples: 1000, seed: 0, level: 0.9 },
  ],
  pairedCluster: [
    { rows: rowsOf(60, 4, 1), resamples: 500, seed: 7, level: 0.95 },
    { rows: rowsOf(40, 1, 2), resamples: 400, seed: 0, level: 0.95 },
    { rows: rowsOf(30, 5, 4, false), resamples: 300, seed: 11, level: 0.9 },
  ],
};

let oracle: {
  wilson: [number, number][];
  mcnemar: number[];
  holm: number[][];
  mdd: number[];
  bootstrapMean: [number, number][];
  pairedCluster: { delta: number; low: number; high: number; designEffect: number; sd: number }[];
};
beforeAll(() => {
  if (!fs.existsSync(python)) throw new Error(`${python} is missing: run bash scripts/setup.sh`);
  const out = execFileSync(python, [path.join(root, 'tests', 'oracles', 'statistics_oracle.py')], { input: JSON.stringify(cases), maxBuffer: 16 * 1024 * 1024 });
  oracle = JSON.parse(out.toString());
}, 60_000);

const close = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(1e-6);

test('Wilson intervals equal statsmodels, and stay honest at 0 % and 100 %', () => {
  for (const [i, [k, n, level]] of cases.wilson.entries()) {
    const w = wilsonInterval(k, n, level);
    close(w.low, oracle.wilson[i][0]);
    close(w.high, oracle.wilson[i][1]);
  }
  // 0 of 20 is not "0 % ± 0": the interval reaches ~16 %
  expect(wilsonInterval(0, 20).low).toBe(0);
  expect(wilsonInterval(0, 20).high).toBeGreaterThan(0.15);
  expect(wilsonInterval(20, 20).high).toBe(1);
  expect(wilsonInterval(20, 20).low).toBeLessThan(0.85);
  expect(() => wilsonInterval(3, 0)).toThrow(/at least one/);
  expect(() => wilsonInterval(5, 4)).toThrow(/5 successes of 4/);
});

test('McNemar exact p-values equal statsmodels; the discordant counts are the rows that changed', () => {
  for (const [i, [b, c]] of cases.mcnemar.entries()) {
    const { base, other } = discordant(b, c);
    const t = mcnemarExact(base, other);
    expect({ baseOnly: t.baseOnly, otherOnly: t.otherOnly }).toEqual({ baseOnly: b, otherOnly: c });
    close(t.pValue, oracle.mcnemar[i]);
  }
  expect(mcnemarExact([true, false], [true, false]).pValue).toBe(1);
  expect(() => mcnemarExact([true], [true, false])).toThrow(/same rows/);
});

test('Holm adjustments equal statsmodels, in the order given', () => {
  for (const [i, ps] of cases.holm.entries()) holm(ps).forEach((p, j) => close(p, oracle.holm[i][j]));
  expect(() => holm([0.5, 1.2])).toThrow(/not a p-value/);
});

test('the minimum detectable difference equals statsmodels\' NormalIndPower effect size times the deviation', () => {
  for (const [i, [sd, n, alpha, power]] of cases.mdd.entries()) close(minimumDetectableDifference(sd, n, { alpha, power }), oracle.mdd[i]);
  // four times the rows, half the difference
  expect(minimumDetectableDifference(1, 400) / minimumDetectableDifference(1, 100)).toBeCloseTo(0.5, 3);
});

test('the mean bootstrap draws what Python\'s random.Random draws', () => {
  for (const [i, c] of cases.bootstrapMean.entries()) {
    const b = bootstrapMeanInterval(c.scores, c);
    close(b.low, oracle.bootstrapMean[i][0]);
    close(b.high, oracle.bootstrapMean[i][1]);
    expect(b.low).toBeLessThanOrEqual(b.mean);
    expect(b.high).toBeGreaterThanOrEqual(b.mean);
  }
});

test('the paired cluster bootstrap equals the oracle: the interval, and the design effect of statsmodels\' cluster-robust variance', () => {
  for (const [i, c] of cases.pairedCluster.entries()) {
    const d = pairedClusterBootstrap(c.rows, c);
    const o = oracle.pairedCluster[i];
    for (const k of ['delta', 'low', 'high', 'designEffect', 'sd'] as const) close(d[k], o[k]);
  }
  // one question per image: nothing to cluster, a design effect of (k/(k−1))·((n−1)/n) = 1 up to that factor
  const single = pairedClusterBootstrap(cases.pairedCluster[1].rows, { resamples: 10 });
  expect(single.clusters).toBe(single.rows);
  expect(single.designEffect).toBeCloseTo(1, 10);
  // questions that share an image move together: the effect exceeds 1 here
  expect(pairedClusterBootstrap(cases.pairedCluster[0].rows, { resamples: 10 }).designEffect).toBeGreaterThan(1);
});

test('the same seed gives the same interval; another seed another', () => {
  const rows = rowsOf(50, 3, 9);
  const a = pairedClusterBootstrap(rows, { resamples: 300, seed: 1 });
  expect(pairedClusterBootstrap(rows, { resamples: 300, seed: 1 })).toEqual(a);
  const b = pairedClusterBootstrap(rows, { resamples: 300, seed: 2 });
  expect([b.low, b.high]).not.toEqual([a.low, a.high]);
});
