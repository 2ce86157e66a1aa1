// The demo's comparison table, read back from Postgres: for each arm's run, its
// adapted model's scores on the world's domain benchmark, the training set it learned from and
// where each number came from (run, model, training-set artifact), beside the general base model.
// Written as comparison.md and comparison.png (the report stage's chart renderer).
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { Db } from '../activities/db/client';
import { renderChart } from '../activities/report/run-report';
import { readBenchmark } from '../activities/benchmarks/benchmark-reader';
import { pairedBootstrap, type PairedColumn, type PairedInterval } from '../core/eval/paired-bootstrap';
import { TASKS, type RowScore } from '../core/eval/tasks';
import type { Arm } from './arms';

/**
 * The scores the table shows, as (task, metric key) of the Metric rows the evaluate stage wrote;
 * `kind` picks the VQA rows whose item scores make up that metric (the Prediction's details.kind).
 */
export const SCORE_COLUMNS = [
  { title: 'VQA-RAD open', task: 'VQA_RAD', key: 'OPEN recall', kind: 'open' },
  { title: 'VQA-RAD closed', task: 'VQA_RAD', key: 'CLOSED yes/no accuracy', kind: 'closed' },
  { title: 'PMC-VQA', task: 'PMC_VQA', key: 'acc', kind: null },
] as const;

export interface ComparisonRow {
  arm: string;
  label: string;
  workflowId: string;
  runId: string;
  model: { id: string; name: string; revision: string };
  trainingSet?: { id: string; uri: string; sha256: string; rows: number; withTask: number };
  /** what the run's synthesizer wrote (arms that synthesize): its parsed tasks' questions */
  tasks?: TaskAudit;
  scores: (number | null)[];
  /** the main metric: the mean of the three scores (the paper's tables average a domain's tasks) */
  average: number | null;
  /** the main metric's difference from the base with its 95 % paired bootstrap interval over the benchmark's rows */
  vsBase?: PairedInterval;
}

function mean(xs: (number | null)[]): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === xs.length && xs.length > 0 ? known.reduce((a, b) => a + b, 0) / xs.length : null;
}

/**
 * How varied a run's synthesized tasks are: parsed tasks, distinct questions, and the most
 * frequent question with its count. A synthesizer that writes one question for every image
 * (the world's trained one does, docs/demo-results.md) shows here, without reading the training set.
 */
export interface TaskAudit {
  parsed: number;
  distinct: number;
  top?: { question: string; count: number };
}

async function taskAudit(db: Db, runId: string): Promise<TaskAudit | undefined> {
  const groups = await db.synthTask.groupBy({ by: ['question'], where: { runId, status: 'OK', question: { not: null } }, _count: { _all: true } });
  if (groups.length === 0) return undefined;
  const counted = groups.map((g) => ({ question: g.question!, count: g._count._all })).sort((a, b) => b.count - a.count || a.question.localeCompare(b.question));
  return { parsed: counted.reduce((n, g) => n + g.count, 0), distinct: counted.length, top: counted[0] };
}

async function scoresOf(db: Db, runId: string, modelId: string): Promise<(number | null)[]> {
  const metrics = await db.metric.findMany({ where: { runId, modelId } });
  return SCORE_COLUMNS.map((c) => metrics.find((m) => m.task === c.task && m.key === c.key)?.value ?? null);
}

/**
 * Each column's item scores of one model in one run, by benchmark row: the rows its metric
 * averages (OPEN recall is the mean of the OPEN rows' recall, CLOSED accuracy of the CLOSED rows'
 * hits, PMC-VQA accuracy of every row's). Scored again from the stored answers, as the evaluate
 * stage scores them before it writes the Metric rows the table shows: a stored item score may be
 * older than the scorer (a base model's answers are reused across runs), the answer is not.
 */
async function itemScoresOf(db: Db, runId: string, modelId: string): Promise<Map<number, number>[]> {
  const evals = await db.evaluation.findMany({ where: { runId, modelId } });
  const scored = new Map<string, RowScore[]>();
  for (const name of new Set(SCORE_COLUMNS.map((c) => c.task))) {
    const e = evals.find((x) => x.task === name);
    if (!e) throw new Error(`demo: run ${runId} did not evaluate model ${modelId} on ${name}`);
    const task = TASKS[name];
    const answers = new Map((await db.prediction.findMany({ where: { modelId, task: name, setupHash: e.setupHash, rowIndex: { lt: e.rows } }, select: { rowIndex: true, output: true } })).map((p) => [p.rowIndex, p.output]));
    const rows: RowScore[] = [];
    for await (const row of readBenchmark(e.benchmark, task, { to: e.rows })) {
      if (!answers.has(row.index)) throw new Error(`demo: model ${modelId} has no prediction for ${name} row ${row.index} in run ${runId}`);
      const output = answers.get(row.index);
      // the table's tasks (VQA, multiple choice) have no F1, so the FoodSeg103 convention is moot
      rows.push(task.scoreRow({ ...row.fields, ...(output !== null ? { pred: output } : {}) }, row.index, { f1Convention: 'sklearn>=1.3' }));
    }
    scored.set(name, rows);
  }
  return SCORE_COLUMNS.map((c) => new Map(scored.get(c.task)!.filter((r) => (r.kind ?? null) === c.kind && r.score !== null).map((r) => [r.index, r.score!])));
}

/** Both models' item scores, paired by row; the two must have answered the same rows. */
function paired(base: Map<number, number>[], other: Map<number, number>[], what: string): PairedColumn[] {
  return SCORE_COLUMNS.map((c, i) => {
    const rows = [...base[i].keys()].sort((a, b) => a - b);
    const unpaired = rows.find((r) => !other[i].has(r)) ?? [...other[i].keys()].find((r) => !base[i].has(r));
    if (unpaired !== undefined) throw new Error(`demo: ${what} and the base did not score the same ${c.title} rows (row ${unpaired} is scored for one only); their evaluations do not pair`);
    return { base: rows.map((r) => base[i].get(r)!), other: rows.map((r) => other[i].get(r)!) };
  });
}

/** One row per model: the base (from the first arm's run) and each arm's adapted model. */
export async function comparisonRows(db: Db, arms: readonly { arm: Arm; workflowId: string; runId: string }[]): Promise<ComparisonRow[]> {
  const rows: ComparisonRow[] = [];
  for (const [i, a] of arms.entries()) {
    const evals = await db.evaluation.findMany({ where: { runId: a.runId }, include: { model: true }, orderBy: { position: 'asc' } });
    const adapted = evals.find((e) => e.kind === 'ADAPTED')?.model;
    const base = evals.find((e) => e.kind === 'BASE')?.model;
    if (!adapted || !base) throw new Error(`demo: run ${a.workflowId} has no evaluation of its base and adapted models`);
    if (i === 0) {
      const scores = await scoresOf(db, a.runId, base.id);
      rows.push({ arm: 'base', label: 'general base model (no domain data)', workflowId: a.workflowId, runId: a.runId, model: base, scores, average: mean(scores) });
    }
    const set = adapted.trainingSetId ? await db.artifact.findUnique({ where: { id: adapted.trainingSetId } }) : null;
    const compose = await db.stage.findUnique({ where: { runId_name: { runId: a.runId, name: 'compose' } } });
    const outputs = (compose?.outputs ?? {}) as { withSyntheticTask?: number };
    const scores = await scoresOf(db, a.runId, adapted.id);
    const tasks = await taskAudit(db, a.runId);
    const columns = paired(await itemScoresOf(db, a.runId, base.id), await itemScoresOf(db, a.runId, adapted.id), a.arm.label);
    // a column with no rows (a benchmark without OPEN rows) has no score either: no interval then
    const vsBase = columns.every((c) => c.base.length > 0) ? pairedBootstrap(columns) : undefined;
    rows.push({
      arm: a.arm.name,
      label: a.arm.label,
      workflowId: a.workflowId,
      runId: a.runId,
      model: adapted,
      trainingSet: set ? { id: set.id, uri: set.uri, sha256: set.sha256, rows: Number((set.meta as { rows?: number } | null)?.rows ?? 0), withTask: outputs.withSyntheticTask ?? 0 } : undefined,
      ...(tasks ? { tasks } : {}),
      scores,
      average: mean(scores),
      vsBase,
    });
  }
  return rows;
}

const pct = (x: number | null) => (x === null ? '–' : x.toFixed(1));
/** "+10.0", "−16.5" (a minus sign, as the README's tables); what rounds to 0 is "+0.0" */
const signed = (x: number) => {
  const r = Number(x.toFixed(1));
  return `${r >= 0 ? '+' : '−'}${Math.abs(r).toFixed(1)}`;
};

export function comparisonMarkdown(rows: readonly ComparisonRow[], note: string): string {
  const base = rows.find((r) => r.arm === 'base')?.average ?? null;
  const interval = rows.find((r) => r.vsBase)?.vsBase;
  const level = interval?.level ?? 0.95;
  const md = [
    '# adamllm demo: the method on the world, in miniature',
    '',
    note,
    '',
    `| model | training set (rows, with a synthetic task) | ${SCORE_COLUMNS.map((c) => c.title).join(' | ')} | average | vs base | ${Math.round(100 * level)} % interval |`,
    `|---|---|${SCORE_COLUMNS.map(() => '---:').join('|')}|---:|---:|---:|`,
  ];
  for (const r of rows) {
    const set = r.trainingSet ? `${r.trainingSet.rows}, ${r.trainingSet.withTask}` : '–';
    const delta = r.arm === 'base' || r.average === null || base === null ? '' : signed(r.average - base);
    const interval = r.vsBase ? `${signed(r.vsBase.low)} to ${signed(r.vsBase.high)}` : '';
    md.push(`| ${r.label} | ${set} | ${r.scores.map(pct).join(' | ')} | **${pct(r.average)}** | ${delta} | ${interval} |`);
  }
  if (interval) md.push('', `The interval is a paired bootstrap over the benchmark's rows (${interval.resamples.toLocaleString('en-US')} resamples within each column): the spread that the draw of benchmark rows alone gives the difference, not the spread between training runs.`);
  md.push('', 'Where each number comes from (every row is in Postgres; `node dist/cli/main.js runs show <workflow>` prints its run):', '');
  for (const r of rows) {
    const set = r.trainingSet ? `; training set artifact \`${r.trainingSet.id}\` (\`${r.trainingSet.uri}\`, sha256 ${r.trainingSet.sha256.slice(0, 12)})` : '';
    md.push(`- ${r.label}: run \`${r.workflowId}\` (${r.runId}); model \`${r.model.name}\` \`${r.model.id}\` (${r.model.revision.slice(0, 24)})${set}`);
  }
  const audited = rows.filter((r) => r.tasks);
  if (audited.length > 0) {
    md.push('', 'What each synthesizer wrote (its parsed tasks, before the filter):', '');
    for (const r of audited) {
      const t = r.tasks!;
      const top = t.top ? `; the most frequent (${((100 * t.top.count) / t.parsed).toFixed(0)} %): "${t.top.question.replace(/\s+/g, ' ')}"` : '';
      md.push(`- ${r.label}: ${t.parsed} tasks, ${t.distinct} distinct question${t.distinct === 1 ? '' : 's'}${top}`);
    }
  }
  md.push('', '![comparison](comparison.png)', '');
  return md.join('\n');
}

function chartSpec(rows: readonly ComparisonRow[]): TopLevelSpec {
  const order = rows.map((r) => r.label);
  const values = rows.flatMap((r) => [...SCORE_COLUMNS.map((c, i) => ({ metric: c.title, model: r.label, score: r.scores[i] })), { metric: 'average', model: r.label, score: r.average }]).filter((v) => v.score !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'World domain benchmark: base vs adapted',
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, sort: [...SCORE_COLUMNS.map((c) => c.title), 'average'], axis: { labelAngle: 0 } },
      xOffset: { field: 'model', sort: order },
      y: { field: 'score', type: 'quantitative', title: 'score (%)', scale: { domain: [0, 100] } },
      color: { field: 'model', type: 'nominal', title: null, sort: order, legend: { orient: 'bottom', columns: 1, labelLimit: 400 } },
    },
    width: 560,
    config: { font: 'DejaVu Sans' },
  } as TopLevelSpec;
}

export async function writeComparison(rows: readonly ComparisonRow[], dir: string, note: string): Promise<{ markdown: string; chart: string; json: string }> {
  await fs.mkdir(dir, { recursive: true });
  const files = { markdown: path.join(dir, 'comparison.md'), chart: path.join(dir, 'comparison.png'), json: path.join(dir, 'comparison.json') };
  await fs.writeFile(files.markdown, comparisonMarkdown(rows, note));
  await fs.writeFile(files.json, JSON.stringify(rows, null, 2));
  await renderChart(chartSpec(rows), files.chart);
  return files;
}
