// How sure a "vs base" difference is: a paired, stratified bootstrap over benchmark rows.
//
// A domain's main metric is the mean of a few column scores (VQA-RAD OPEN recall, CLOSED
// accuracy, PMC-VQA accuracy in the demo), each the mean of per-row scores. Two models answer the
// same rows, so the rows are resampled once for both (paired: a row that is hard for one is hard
// for the other, and the difference is far less noisy than either score), within each column
// (stratified: each column keeps its row count, as the metric's definition does). The interval is
// the percentile interval of the resampled differences.
//
// Why it matters here: the demo's benchmark is small (100 + 100 + 200 rows), so one column's
// score moves by several points from the draw of rows alone (a 30 % accuracy on 200 rows has a
// standard error of ~3.2 points); a table of single runs should say which gaps that explains.
import { PyRandom } from '../pyrandom';

/** One column of the main metric: both models' scores (any scale) on the same rows, in the same order. */
export interface PairedColumn {
  base: readonly number[];
  other: readonly number[];
}

export interface BootstrapOptions {
  /** resamples (default 2,000; the unit test sees the ends move by under 0.5 point between two seeds) */
  resamples?: number;
  /** coverage of the interval (default 0.95) */
  level?: number;
  /** the resampling generator's seed, so a table is reproduced exactly (default 0) */
  seed?: number;
}

export interface PairedInterval {
  /** the observed difference of the main metric (other − base) */
  delta: number;
  low: number;
  high: number;
  level: number;
  resamples: number;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function check(columns: readonly PairedColumn[]): void {
  if (columns.length === 0) throw new Error('paired bootstrap: no columns');
  for (const [i, c] of columns.entries()) {
    if (c.base.length !== c.other.length) throw new Error(`paired bootstrap: column ${i} has ${c.base.length} base scores and ${c.other.length} for the other model; both must answer the same rows`);
    if (c.base.length === 0) throw new Error(`paired bootstrap: column ${i} has no rows`);
  }
}

/** The difference of the main metric (mean of column means) between the two models, with its bootstrap interval. */
export function pairedBootstrap(columns: readonly PairedColumn[], o: BootstrapOptions = {}): PairedInterval {
  check(columns);
  const resamples = o.resamples ?? 2000;
  const level = o.level ?? 0.95;
  if (!(level > 0 && level < 1)) throw new Error(`paired bootstrap: level ${level} is not between 0 and 1`);
  if (!Number.isInteger(resamples) || resamples < 1) throw new Error(`paired bootstrap: resamples ${resamples} is not a positive whole number`);
  // per row, the difference: the statistic is linear, so resampling differences is resampling pairs
  const diffs = columns.map((c) => c.other.map((x, i) => x - c.base[i]));
  const delta = mean(diffs.map(mean));
  const rng = new PyRandom(o.seed ?? 0);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (const d of diffs) {
      let s = 0;
      for (let k = 0; k < d.length; k++) s += d[rng.randbelow(d.length)];
      sum += s / d.length;
    }
    stats[r] = sum / diffs.length;
  }
  stats.sort();
  const tail = (1 - level) / 2;
  return { delta, low: stats[nearestRankIndex(tail, resamples)], high: stats[nearestRankIndex(1 - tail, resamples)], level, resamples };
}

/**
 * Where the q-th quantile of n sorted values is, by the nearest-rank rule (rank ⌈q·n⌉, 1-based):
 * with 2,000 resamples the 2.5th percentile is the 50th smallest, the 97.5th the 1,950th. The
 * epsilon keeps float noise from moving a rank: (1 − 0.95) / 2 · 2000 is 50.00000000000004.
 */
export function nearestRankIndex(q: number, n: number): number {
  return Math.min(n, Math.max(1, Math.ceil(q * n - 1e-9))) - 1;
}
