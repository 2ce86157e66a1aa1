// Per-run report: the data funnel (items → tasks → kept → training rows), the training loss
// curve when the run trained, base vs adapted scores per task with the delta, and their
// statistics (run-statistics.ts: intervals, paired differences, tests; error bars), as Markdown
// plus one PNG chart drawn with Vega-Lite (rendered to SVG, rasterised by sharp; no hand-drawn
// pixels).
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import * as vegaLite from 'vega-lite';
import { trainingResources, trainingStats } from '../../core/training-stats';
import type { Db } from '../db/client';
import { describeFile } from '../store/artifact-store';
import { runStatistics, statisticsMarkdown, type ColumnStatistics } from './run-statistics';

export interface ReportFiles {
  markdown: string;
  chart: string;
}

interface ScoreLine {
  task: string;
  key: string;
  byModel: Map<string, number | null>;
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(2));

async function loadRun(db: Db, runId: string) {
  return db.run.findUniqueOrThrow({
    where: { id: runId },
    include: {
      stages: { orderBy: { position: 'asc' } },
      datasets: true,
      metrics: { include: { model: { select: { name: true, kind: true } } }, orderBy: [{ task: 'asc' }, { key: 'asc' }] },
      trainSteps: { orderBy: { step: 'asc' }, select: { step: true, totalSteps: true, loss: true, lr: true, tokensPerS: true, paddingWaste: true, peakMemoryBytes: true, worldSize: true } },
      models: { where: { kind: 'ADAPTED' }, select: { name: true, uri: true, parent: { select: { name: true } } } },
    },
  });
}

type RunData = Awaited<ReturnType<typeof loadRun>>;

function funnel(run: RunData): { step: string; count: number }[] {
  const out = (name: string) => run.stages.find((s) => s.name === name && s.status === 'SUCCEEDED')?.countOut ?? null;
  const steps: [string, number | null][] = [
    ['source rows', run.datasets[0]?.rowCount ?? null],
    ['accepted images', out('ingest')],
    ['synthesized tasks', out('synthesize')],
    ['kept tasks', out('filter')],
    ['training rows', out('compose')],
    ['trained examples', out('train')],
  ];
  return steps.filter((s): s is [string, number] => s[1] !== null).map(([step, count]) => ({ step, count }));
}

function scoreLines(run: RunData): { models: { name: string; kind: string }[]; lines: ScoreLine[] } {
  const models = new Map<string, string>();
  const lines = new Map<string, ScoreLine>();
  for (const m of run.metrics) {
    models.set(m.model.name, m.model.kind);
    const id = `${m.task}\u0000${m.key}`;
    if (!lines.has(id)) lines.set(id, { task: m.task, key: m.key, byModel: new Map() });
    lines.get(id)!.byModel.set(m.model.name, m.value);
  }
  const ordered = [...models.entries()].map(([name, kind]) => ({ name, kind })).sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'BASE' ? -1 : 1));
  return { models: ordered, lines: [...lines.values()] };
}

export function reportMarkdown(run: RunData, statistics: readonly ColumnStatistics[] = []): string {
  const md: string[] = [`# Run ${run.workflowId}`, '', `run id \`${run.id}\`, domain **${run.domain}**, status **${run.status.toLowerCase()}**, spec \`${run.specHash.slice(0, 12)}\``, ''];
  md.push('## Data funnel', '', '| stage | status | in | out | filtered | failed |', '|---|---|---|---|---|---|');
  for (const s of run.stages) md.push(`| ${s.name} | ${s.status.toLowerCase()} | ${fmt(s.countIn)} | ${fmt(s.countOut)} | ${fmt(s.countFiltered)} | ${fmt(s.countFailed)} |`);
  md.push('', funnel(run).map((f) => `${f.step} ${f.count}`).join(' → '), '');
  const training = trainingStats(run.trainSteps);
  if (training) {
    const trained = run.models[0];
    md.push('## Training', '');
    if (trained) md.push(`\`${trained.name}\` from \`${trained.parent?.name ?? '?'}\`, exported to \`${trained.uri}\``, '');
    md.push(`steps ${training.step}/${training.totalSteps}, loss ${training.firstLoss.toFixed(4)} → ${training.lastLoss.toFixed(4)}, ${training.tokensPerS.toFixed(1)} tokens/s on average${trainingResources(training)}`, '');
  }
  const { models, lines } = scoreLines(run);
  md.push('## Scores', '');
  if (lines.length === 0) {
    md.push('No evaluation is recorded for this run.', '');
  } else {
    const base = models.filter((m) => m.kind === 'BASE');
    const adapted = models.filter((m) => m.kind === 'ADAPTED');
    const delta = base.length === 1 && adapted.length === 1;
    md.push(`| task | metric | ${models.map((m) => `${m.name} (${m.kind.toLowerCase()})`).join(' | ')} |${delta ? ' Δ |' : ''}`);
    md.push(`|---|---|${models.map(() => '---|').join('')}${delta ? '---|' : ''}`);
    for (const l of lines) {
      const cells = models.map((m) => fmt(l.byModel.get(m.name)));
      let d = '';
      if (delta) {
        const a = l.byModel.get(adapted[0].name);
        const b = l.byModel.get(base[0].name);
        d = a != null && b != null ? ` ${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)} |` : ' – |';
      }
      md.push(`| ${l.task} | ${l.key} | ${cells.join(' | ')} |${d}`);
    }
    md.push('');
  }
  if (statistics.length > 0) md.push('## Statistics: adapted vs base', '', ...statisticsMarkdown(statistics));
  md.push('![report](report.png)', '');
  return md.join('\n');
}

function chartSpec(run: RunData, statistics: readonly ColumnStatistics[] = []): vegaLite.TopLevelSpec {
  const panels: object[] = [
    {
      title: 'Data funnel',
      data: { values: funnel(run) },
      mark: { type: 'bar', color: '#4c78a8' },
      encoding: {
        y: { field: 'step', type: 'nominal', sort: null, title: null },
        x: { field: 'count', type: 'quantitative', title: 'items' },
      },
      width: 360,
    },
  ];
  if (run.trainSteps.length > 0) {
    panels.push({
      title: 'Training loss',
      data: { values: run.trainSteps.map((t) => ({ step: t.step, loss: t.loss })) },
      mark: { type: 'line', point: run.trainSteps.length <= 50, color: '#e45756' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'optimizer step' },
        y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
      },
      width: 360,
    });
  }
  const { models, lines } = scoreLines(run);
  if (lines.length > 0) {
    const label = (m: { name: string; kind: string }) => `${m.name} (${m.kind.toLowerCase()})`;
    const order = models.map(label); // base models first
    const values = run.metrics.filter((m) => m.value !== null).map((m) => ({ metric: `${m.task} ${m.key}`, model: label(m.model), score: m.value }));
    panels.push({
      title: 'Scores: base vs adapted',
      data: { values },
      mark: 'bar',
      encoding: {
        x: { field: 'metric', type: 'nominal', title: null, axis: { labelAngle: -30, labelLimit: 320 } },
        xOffset: { field: 'model', sort: order },
        y: { field: 'score', type: 'quantitative', title: 'score (%)', scale: { domain: [0, 100] } }, // percentages: a fixed axis keeps runs comparable
        color: { field: 'model', type: 'nominal', title: null, sort: order, legend: { labelLimit: 320 } },
      },
      width: Math.max(240, 70 * lines.length),
    });
  }
  if (statistics.length > 0) {
    // each comparison's difference with its 95 % interval as an error bar, beside zero
    const values = statistics.map((c) => ({ comparison: c.part === 'all' ? c.task : `${c.task} ${c.part.toUpperCase()}`, delta: c.difference.delta, low: c.difference.low, high: c.difference.high, verdict: c.significant ? 'significant' : 'not significant' }));
    panels.push({
      title: 'Adapted − base, with 95 % intervals (Holm-corrected verdicts)',
      data: { values },
      width: Math.max(240, 90 * values.length),
      layer: [
        { mark: { type: 'rule', strokeDash: [4, 4], color: '#888' }, encoding: { y: { datum: 0 } } },
        { mark: { type: 'rule', strokeWidth: 2 }, encoding: { x: { field: 'comparison', type: 'nominal', title: null, axis: { labelAngle: -30, labelLimit: 320 } }, y: { field: 'low', type: 'quantitative', title: 'difference (points)' }, y2: { field: 'high' }, color: { field: 'verdict', type: 'nominal', title: null, scale: { domain: ['significant', 'not significant'], range: ['#54a24b', '#9d9d9d'] } } } },
        { mark: { type: 'point', filled: true, size: 60 }, encoding: { x: { field: 'comparison', type: 'nominal' }, y: { field: 'delta', type: 'quantitative' }, color: { field: 'verdict', type: 'nominal' } } },
      ],
    });
  }
  // each panel its own colours: the scores' models and the differences' verdicts are different things
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', vconcat: panels, resolve: { scale: { color: 'independent' }, legend: { color: 'independent' } }, config: { font: 'DejaVu Sans' } } as vegaLite.TopLevelSpec;
}

export async function renderChart(spec: vegaLite.TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  await sharp(Buffer.from(svg)).flatten({ background: '#ffffff' }).png().toFile(file);
}

/** Writes report.md and report.png into `dir` and records them as the run's report artifacts. */
export async function writeRunReport(db: Db, runId: string, dir: string): Promise<ReportFiles> {
  const run = await loadRun(db, runId);
  const statistics = await runStatistics(db, runId);
  await fs.mkdir(dir, { recursive: true });
  const files = { markdown: path.join(dir, 'report.md'), chart: path.join(dir, 'report.png') };
  await fs.writeFile(files.markdown, reportMarkdown(run, statistics));
  await renderChart(chartSpec(run, statistics), files.chart);
  for (const [kind, file] of [['markdown', files.markdown], ['chart', files.chart]] as const) {
    const f = await describeFile(file);
    const data = { uri: f.uri, sha256: f.sha256, bytes: BigInt(f.bytes) };
    await db.artifact.upsert({ where: { runId_stage_kind: { runId, stage: 'report', kind } }, create: { runId, stage: 'report', kind, ...data }, update: data });
  }
  return files;
}
