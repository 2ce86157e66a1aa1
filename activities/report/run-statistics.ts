// The statistics of a run's base-vs-adapted scores (core/eval/statistics.ts), from the per-row
// answers in Postgres: per benchmark and per part of it that has a metric of its own (VQA's OPEN
// and CLOSED rows), both scores with a 95 % interval, the difference with a paired bootstrap
// interval clustered by image, a test (exact McNemar where the score is right or wrong, else a
// z-test on the cluster-robust variance), Holm's correction across all of them, a "not
// significant" verdict, and the minimum detectable difference at 80 % power for the benchmark's size.
// Each row is scored again from its stored answer, as the evaluate stage scores it: a stored item
// score may be older than the scorer (a base model's answers are reused across runs).
import { createHash } from 'node:crypto';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import { bootstrapMeanInterval, holm, mcnemarExact, minimumDetectableDifference, pairedClusterBootstrap, wilsonInterval, type Interval } from '../../core/eval/statistics';
import type { F1Convention } from '../../core/eval/multilabel';
import { TASKS, type RowScore, type TaskName } from '../../core/eval/tasks';
import type { Db } from '../db/client';
import { readBenchmark } from '../benchmarks/benchmark-reader';

/** One model's score on one column, in the metric's scale (×100), with its 95 % interval. */
export interface ScoreWithInterval extends Interval {
  value: number;
}

export interface ColumnStatistics {
  task: string;
  /** the rows the column scores: all of them, or VQA's open or closed rows */
  part: 'all' | 'open' | 'closed';
  base: { model: string } & ScoreWithInterval;
  adapted: { model: string } & ScoreWithInterval;
  /** right-or-wrong rows (Wilson, McNemar), or a mean score (bootstrap, z-test) */
  kind: 'proportion' | 'mean';
  rows: number;
  images: number;
  designEffect: number;
  difference: { delta: number; low: number; high: number; resamples: number };
  test: { name: 'McNemar exact'; baseOnly: number; otherOnly: number; p: number } | { name: 'z, cluster-robust'; p: number };
  /** Holm-adjusted across the run's columns */
  pHolm: number;
  significant: boolean;
  /** the smallest true difference a two-sided test at 5 % would find with 80 % power on this many rows (minimumDetectable) */
  minimumDetectable: number;
}

export interface StatisticsOptions {
  resamples?: number;
  seed?: number;
  level?: number;
}

const PARTS = ['all', 'open', 'closed'] as const;

type EvaluationRef = { modelId: string; task: string; setupHash: string; benchmark: string; rows: number; setup: unknown };

/** One model's stored answers on one evaluation, by row. */
async function answersOf(db: Db, e: EvaluationRef): Promise<Map<number, string | null>> {
  const preds = await db.prediction.findMany({ where: { modelId: e.modelId, task: e.task, setupHash: e.setupHash, rowIndex: { lt: e.rows } }, select: { rowIndex: true, output: true } });
  return new Map(preds.map((p) => [p.rowIndex, p.output]));
}

/**
 * Both models' rescored rows on one benchmark, with each row's image (the cluster), from one pass
 * over the benchmark file (the two evaluations of a run read the same file); a row either model
 * did not answer in its setup is left out of both.
 */
async function pairedRows(db: Db, base: EvaluationRef, adapted: EvaluationRef): Promise<{ index: number; image: string; base: RowScore; other: RowScore }[]> {
  const task = TASKS[base.task as TaskName];
  if (!task) throw new Error(`statistics: unknown task ${base.task}`);
  const [baseAnswers, adaptedAnswers] = await Promise.all([answersOf(db, base), answersOf(db, adapted)]);
  const score = (e: EvaluationRef, fields: Record<string, unknown>, index: number, output: string | null | undefined) =>
    task.scoreRow({ ...fields, ...(output !== null && output !== undefined ? { pred: output } : {}) }, index, {
      f1Convention: (e.setup as { f1Convention?: F1Convention } | null)?.f1Convention ?? 'sklearn>=1.3',
    });
  const out: { index: number; image: string; base: RowScore; other: RowScore }[] = [];
  for await (const row of readBenchmark(base.benchmark, task, { to: Math.min(base.rows, adapted.rows) })) {
    if (!baseAnswers.has(row.index) || !adaptedAnswers.has(row.index)) continue;
    const image = row.image.path ?? (row.image.bytes ? createHash('sha1').update(row.image.bytes).digest('hex') : `row-${row.index}`);
    out.push({ index: row.index, image, base: score(base, row.fields, row.index, baseAnswers.get(row.index)), other: score(adapted, row.fields, row.index, adaptedAnswers.get(row.index)) });
  }
  return out;
}

/**
 * What the benchmark's size can show, not what this pair of models happened to do (two identical
 * models have no spread of differences at all): the deviation of a difference between two models
 * whose errors are unrelated, for right-or-wrong scores at the worst case (50 %), for other scores
 * from the two models' observed spreads; questions that share an image count for fewer
 * independent rows, so the deviation grows by √(design effect).
 */
function minimumDetectable(pairs: readonly { base: number; other: number }[], binary: boolean, designEffect: number): number {
  const variance = (xs: number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return xs.length > 1 ? xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1) : 0;
  };
  const sd = binary ? 100 * Math.sqrt(0.5) : Math.sqrt(variance(pairs.map((p) => p.base)) + variance(pairs.map((p) => p.other)));
  return minimumDetectableDifference(sd * Math.sqrt(Math.max(1, designEffect)), pairs.length);
}

/**
 * The statistics of every benchmark the run evaluated a base and an adapted model on (the first of
 * each kind per task); empty when it evaluated no such pair.
 */
export async function runStatistics(db: Db, runId: string, o: StatisticsOptions = {}): Promise<ColumnStatistics[]> {
  const evals = await db.evaluation.findMany({ where: { runId }, include: { model: { select: { name: true } } }, orderBy: { position: 'asc' } });
  const level = o.level ?? 0.95;
  const resamples = o.resamples ?? 10_000;
  const seed = o.seed ?? 0;
  const columns: Omit<ColumnStatistics, 'pHolm' | 'significant'>[] = [];
  for (const task of [...new Set(evals.map((e) => e.task))]) {
    const base = evals.find((e) => e.task === task && e.kind === 'BASE');
    const adapted = evals.find((e) => e.task === task && e.kind === 'ADAPTED');
    if (!base || !adapted) continue;
    const rows = await pairedRows(db, base, adapted);
    // VQA: open and closed are the metrics; "all" only where the task has no parts
    const hasParts = rows.some((r) => r.base.kind === 'open' || r.base.kind === 'closed');
    for (const part of PARTS) {
      if ((part === 'all') === hasParts) continue;
      const pairs = rows
        .filter((r) => r.base.score !== null && r.other.score !== null && (part === 'all' ? r.base.kind !== 'other' : r.base.kind === part))
        .map((r) => ({ index: r.index, image: r.image, base: r.base.score!, other: r.other.score! }));
      if (pairs.length === 0) continue;
      const binary = pairs.every((p) => (p.base === 0 || p.base === 100) && (p.other === 0 || p.other === 100));
      const interval = (scores: number[]): ScoreWithInterval => {
        const value = scores.reduce((s, x) => s + x, 0) / scores.length;
        if (binary) {
          const w = wilsonInterval(scores.filter((x) => x === 100).length, scores.length, level);
          return { value, low: 100 * w.low, high: 100 * w.high, level };
        }
        const m = bootstrapMeanInterval(scores, { resamples, seed, level });
        return { value, low: m.low, high: m.high, level };
      };
      const d = pairedClusterBootstrap(
        pairs.map((p) => ({ cluster: p.image, base: p.base, other: p.other })),
        { resamples, seed, level },
      );
      const se = Math.sqrt((d.sd * d.sd * d.designEffect) / d.rows);
      const test: ColumnStatistics['test'] = binary
        ? (() => {
            const t = mcnemarExact(pairs.map((p) => p.base === 100), pairs.map((p) => p.other === 100));
            return { name: 'McNemar exact' as const, baseOnly: t.baseOnly, otherOnly: t.otherOnly, p: t.pValue };
          })()
        : { name: 'z, cluster-robust' as const, p: se > 0 ? 2 * (1 - normalCdf(Math.abs(d.delta) / se, 0, 1)) : d.delta === 0 ? 1 : 0 };
      columns.push({
        task,
        part,
        base: { model: base.model.name, ...interval(pairs.map((p) => p.base)) },
        adapted: { model: adapted.model.name, ...interval(pairs.map((p) => p.other)) },
        kind: binary ? 'proportion' : 'mean',
        rows: d.rows,
        images: d.clusters,
        designEffect: d.designEffect,
        difference: { delta: d.delta, low: d.low, high: d.high, resamples },
        test,
        minimumDetectable: minimumDetectable(pairs, binary, d.designEffect),
      });
    }
  }
  const adjusted = holm(columns.map((c) => c.test.p));
  return columns.map((c, i) => ({ ...c, pHolm: adjusted[i], significant: adjusted[i] < 1 - level }));
}

const pct = (x: number) => x.toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)}`;
const pText = (p: number) => (p < 0.001 ? '< 0.001' : p.toFixed(3));

/** The statistics as a Markdown table, with a line on how to read it. */
export function statisticsMarkdown(columns: readonly ColumnStatistics[]): string[] {
  if (columns.length === 0) return [];
  const md = [
    '| benchmark | rows (images) | base [95 % CI] | adapted [95 % CI] | Δ [95 % CI] | test | p (Holm) | verdict | detectable at 80 % power |',
    '|---|---:|---:|---:|---:|---|---:|---|---:|',
  ];
  for (const c of columns) {
    const name = c.part === 'all' ? c.task : `${c.task} ${c.part.toUpperCase()}`;
    const rows = `${c.rows} (${c.images}${c.designEffect > 1.005 ? `, design effect ${c.designEffect.toFixed(2)}` : ''})`;
    const test = c.test.name === 'McNemar exact' ? `McNemar exact, ${c.test.baseOnly} base-only vs ${c.test.otherOnly} adapted-only` : c.test.name;
    md.push(
      `| ${name} | ${rows} | ${pct(c.base.value)} [${pct(c.base.low)}, ${pct(c.base.high)}] | ${pct(c.adapted.value)} [${pct(c.adapted.low)}, ${pct(c.adapted.high)}] | ${signed(c.difference.delta)} [${signed(c.difference.low)}, ${signed(c.difference.high)}] | ${test} | ${pText(c.test.p)} (${pText(c.pHolm)}) | ${c.significant ? 'significant' : 'not significant'} | ±${pct(c.minimumDetectable)} |`,
    );
  }
  md.push(
    '',
    `Intervals: Wilson for right-or-wrong scores, else a percentile bootstrap; Δ: a paired bootstrap over the rows (${columns[0].difference.resamples.toLocaleString('en')} seeded resamples), drawing whole images where several questions share one. p: Holm-corrected across the ${columns.length} comparisons of this run; "not significant" at 5 %. The last column is the smallest difference this many rows would show with 80 % power (for two models whose errors are unrelated; right-or-wrong scores at 50 %): a smaller true gain can hide in the noise.`,
    '',
  );
  return md;
}
