// The statistics a reviewer asks of a base-vs-adapted score (docs/evaluation.md, Statistics): an
// interval for each score, an interval and a test for the difference, a correction across the
// benchmarks of a run, and the smallest difference the benchmark's size could have detected.
//   - a proportion (accuracy, yes/no): the Wilson score interval, right at 0 % and 100 % where
//     the normal ("Wald") interval collapses to a point;
//   - any other mean score (recall, ROUGE): a seeded percentile bootstrap;
//   - the difference: a paired bootstrap over rows, resampling whole images where several
//     questions share one (a cluster bootstrap; the design effect says how much wider that makes
//     the interval than pretending the rows were independent);
//   - accuracy-type metrics: McNemar's exact test on the discordant pairs (rows one model gets
//     right and the other wrong), which is what changes between two models on the same rows;
//   - Holm's step-down correction across a run's benchmarks, and the minimum detectable difference
//     at 80 % power (a two-sided z-test on the paired differences).
// The resampling generator (resampling-rng.ts) is simple enough to write again in Python, so the
// oracle draws the same rows: tests/unit/statistics.test.ts checks every figure against SciPy and
// statsmodels, and the bootstraps against the same loops in Python.
import binomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import { ResamplingRng } from './resampling-rng';
import { nearestRankIndex } from './paired-bootstrap';

export interface Interval {
  low: number;
  high: number;
  level: number;
}

function checkLevel(level: number, what: string): void {
  if (!(level > 0 && level < 1)) throw new RangeError(`${what}: level ${level} is not between 0 and 1`);
}

/** z such that a standard normal falls within ±z with probability `level`. */
const zOf = (level: number) => normalQuantile(1 - (1 - level) / 2, 0, 1);

/**
 * The Wilson score interval of a proportion (statsmodels' proportion_confint, method "wilson"):
 * `successes` of `n`, as fractions in [0, 1].
 */
export function wilsonInterval(successes: number, n: number, level = 0.95): Interval {
  checkLevel(level, 'Wilson interval');
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`Wilson interval: ${n} rows; it needs at least one`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) throw new RangeError(`Wilson interval: ${successes} successes of ${n} rows`);
  const z = zOf(level);
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // at 0 and n the bound is 0 (or 1) exactly; the arithmetic leaves float noise there
  return { low: successes === 0 ? 0 : Math.max(0, centre - half), high: successes === n ? 1 : Math.min(1, centre + half), level };
}

export interface McNemarTest {
  /** rows the base gets right and the other model wrong */
  baseOnly: number;
  /** rows the other model gets right and the base wrong */
  otherOnly: number;
  /** two-sided exact p-value: the binomial test of the discordant pairs against ½ (1 when there are none) */
  pValue: number;
}

/** McNemar's exact test on paired right/wrong outcomes (statsmodels' mcnemar, exact=True). */
export function mcnemarExact(base: readonly boolean[], other: readonly boolean[]): McNemarTest {
  if (base.length !== other.length) throw new RangeError(`McNemar: ${base.length} base outcomes and ${other.length} for the other model; both must answer the same rows`);
  let baseOnly = 0;
  let otherOnly = 0;
  for (let i = 0; i < base.length; i++) {
    if (base[i] && !other[i]) baseOnly++;
    else if (!base[i] && other[i]) otherOnly++;
  }
  const n = baseOnly + otherOnly;
  const pValue = n === 0 ? 1 : Math.min(1, 2 * binomialCdf(Math.min(baseOnly, otherOnly), n, 0.5));
  return { baseOnly, otherOnly, pValue };
}

/** Holm's step-down adjusted p-values, in the order given (statsmodels' multipletests, method "holm"). */
export function holm(pValues: readonly number[]): number[] {
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new RangeError(`Holm: ${p} is not a p-value`);
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const adjusted = new Array<number>(m);
  let running = 0;
  for (const [rank, [p, i]] of order.entries()) {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  }
  return adjusted;
}

/**
 * The smallest true mean difference a two-sided z-test at `alpha` detects with probability
 * `power`, given the standard deviation of the paired per-row differences and the rows (the
 * effect size statsmodels' NormalIndPower solves for with ratio 0, times that deviation).
 */
export function minimumDetectableDifference(sdOfDifferences: number, n: number, o: { alpha?: number; power?: number } = {}): number {
  const alpha = o.alpha ?? 0.05;
  const power = o.power ?? 0.8;
  if (!(n > 0)) throw new RangeError(`minimum detectable difference: ${n} rows`);
  if (!(alpha > 0 && alpha < 1) || !(power > alpha && power < 1)) throw new RangeError(`minimum detectable difference: alpha ${alpha} and power ${power} must satisfy 0 < alpha < power < 1`);
  // power = Φ(d√n − z_{1−α/2}) + Φ(−d√n − z_{1−α/2}), the equation statsmodels solves; increasing
  // in d, so bisection finds d to the last bit
  const za = normalQuantile(1 - alpha / 2, 0, 1);
  const phi = (x: number) => normalCdf(x, 0, 1);
  const powerAt = (d: number) => phi(d * Math.sqrt(n) - za) + phi(-d * Math.sqrt(n) - za);
  let lo = 0;
  let hi = (za + normalQuantile(power, 0, 1) + 10) / Math.sqrt(n);
  for (let i = 0; i < 200 && hi - lo > 1e-15; i++) {
    const mid = (lo + hi) / 2;
    if (powerAt(mid) < power) lo = mid;
    else hi = mid;
  }
  return ((lo + hi) / 2) * sdOfDifferences;
}

export interface BootstrapOptions {
  /** resamples (default 10,000) */
  resamples?: number;
  /** coverage (default 0.95) */
  level?: number;
  /** the generator's seed (default 0): the same seed gives the same interval */
  seed?: number;
}

const meanOf = (xs: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
};

function percentile(stats: Float64Array, level: number): { low: number; high: number } {
  stats.sort();
  const tail = (1 - level) / 2;
  return { low: stats[nearestRankIndex(tail, stats.length)], high: stats[nearestRankIndex(1 - tail, stats.length)] };
}

function resamplesOf(o: BootstrapOptions, what: string): { resamples: number; level: number; rng: ResamplingRng } {
  const resamples = o.resamples ?? 10_000;
  const level = o.level ?? 0.95;
  checkLevel(level, what);
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`${what}: resamples ${resamples} is not a positive whole number`);
  return { resamples, level, rng: new ResamplingRng(o.seed ?? 0) };
}

/** The percentile bootstrap interval of a mean score (rows resampled with replacement). */
export function bootstrapMeanInterval(scores: readonly number[], o: BootstrapOptions = {}): Interval & { mean: number } {
  if (scores.length === 0) throw new RangeError('bootstrap: no scores');
  const { resamples, level, rng } = resamplesOf(o, 'bootstrap');
  const n = scores.length;
  const stats = new Float64Array(resamples);
  const drawn = new Uint32Array(n);
  for (let r = 0; r < resamples; r++) {
    rng.fillBelow(n, drawn);
    let s = 0;
    for (let k = 0; k < n; k++) s += scores[drawn[k]];
    stats[r] = s / n;
  }
  return { mean: meanOf(scores), ...percentile(stats, level), level };
}

/** One benchmark row answered by both models, with the image (or any unit) it shares with other rows. */
export interface PairedRow {
  cluster: string;
  base: number;
  other: number;
}

export interface PairedDifference extends Interval {
  /** the observed difference of the mean scores (other − base) */
  delta: number;
  rows: number;
  clusters: number;
  /**
   * How much the sharing of images widens the difference's variance: the cluster-robust variance
   * of the mean difference over the variance if every row were independent (1 with one row per
   * image; statsmodels' OLS on a constant, cov_type "cluster", over its plain variance).
   */
  designEffect: number;
  /** the standard deviation of the per-row differences (for the minimum detectable difference) */
  sd: number;
  resamples: number;
}

/**
 * The difference of two models' mean scores on the same rows with a paired bootstrap interval:
 * each resample draws whole clusters (images) with replacement, so questions about one image move
 * together, and the statistic is the ratio of the drawn rows' summed differences to their count.
 */
export function pairedClusterBootstrap(rows: readonly PairedRow[], o: BootstrapOptions = {}): PairedDifference {
  if (rows.length === 0) throw new RangeError('paired bootstrap: no rows');
  const { resamples, level, rng } = resamplesOf(o, 'paired bootstrap');
  // clusters in first-seen order (the order the rows come in decides the draws, as in the oracle)
  const index = new Map<string, number>();
  const clusterSums: number[] = [];
  const clusterCounts: number[] = [];
  const diffs = rows.map((r) => r.other - r.base);
  for (const [i, r] of rows.entries()) {
    let c = index.get(r.cluster);
    if (c === undefined) {
      c = clusterSums.length;
      index.set(r.cluster, c);
      clusterSums.push(0);
      clusterCounts.push(0);
    }
    clusterSums[c] += diffs[i];
    clusterCounts[c]++;
  }
  // typed arrays: the resampling loop reads them a hundred million times
  const sums = Float64Array.from(clusterSums);
  const counts = Uint32Array.from(clusterCounts);
  const k = sums.length;
  const n = rows.length;
  const delta = meanOf(diffs);
  const stats = new Float64Array(resamples);
  const drawn = new Uint32Array(k);
  for (let r = 0; r < resamples; r++) {
    rng.fillBelow(k, drawn);
    let s = 0;
    let m = 0;
    for (let j = 0; j < k; j++) {
      s += sums[drawn[j]];
      m += counts[drawn[j]];
    }
    stats[r] = s / m;
  }
  let ss = 0;
  for (const d of diffs) ss += (d - delta) ** 2;
  const sd = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  const iid = n > 1 ? ss / (n - 1) / n : 0;
  let u = 0;
  for (let c = 0; c < k; c++) u += (sums[c] - counts[c] * delta) ** 2;
  const clustered = k > 1 ? ((k / (k - 1)) * u) / (n * n) : 0;
  const designEffect = iid > 0 ? clustered / iid : 1;
  return { delta, ...percentile(stats, level), level, rows: n, clusters: k, designEffect, sd, resamples };
}
