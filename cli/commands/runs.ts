// `adamllm runs list|show|compare`: run history from Postgres, as tables or --json.
import path from 'node:path';
import type { Command } from 'commander';
import { writeRunReport } from '../../activities/report/run-report';
import { runStatistics, statisticsMarkdown } from '../../activities/report/run-statistics';
import { listRuns, findRun } from '../runs/queries';
import { compareRuns, formatComparison, formatRunDetail, formatRunList } from '../runs/format';
import { openDb } from '../services';

const toJson = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x), 2);

async function withDb<T>(stateDir: string, f: (db: Awaited<ReturnType<typeof openDb>>['db']) => Promise<T>): Promise<T> {
  const h = await openDb(stateDir);
  try {
    return await f(h.db);
  } finally {
    await h.close();
  }
}

export function registerRuns(program: Command, stateDir: () => string): void {
  const runs = program.command('runs').description('run history from Postgres (works after Temporal forgot the workflow)');
  runs
    .command('list')
    .option('--domain <domain>')
    .option('--status <status>', 'running, waiting, succeeded, failed or aborted')
    .option('--limit <n>', 'most recent N', (v) => parseInt(v, 10), 20)
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const rows = await withDb(stateDir(), (db) => listRuns(db, o));
      process.stdout.write(`${o.json ? toJson(rows) : formatRunList(rows)}\n`);
    });
  runs
    .command('show <run>')
    .description('stages, attempts, counts, failure reasons and artifacts of a run (run id or workflow id)')
    .option('--json')
    .action(async (id: string, o) => {
      const [r, statistics] = await withDb(stateDir(), async (db) => {
        const run = await findRun(db, id);
        return [run, await runStatistics(db, run.id)] as const;
      });
      process.stdout.write(`${o.json ? toJson({ ...r, statistics }) : [formatRunDetail(r), ...(statistics.length ? ['statistics (adapted vs base):', ...statisticsMarkdown(statistics)] : [])].join('\n')}\n`);
    });
  runs
    .command('report <run>')
    .description('write report.md and report.png (data funnel, base vs adapted scores) for a run')
    .option('--out <dir>', 'output folder (default: reports/<workflow id>)')
    .action(async (id: string, o) => {
      const files = await withDb(stateDir(), async (db) => {
        const run = await findRun(db, id);
        return writeRunReport(db, run.id, path.resolve(o.out ?? path.join('reports', run.workflowId)));
      });
      process.stdout.write(`${files.markdown}\n${files.chart}\n`);
    });
  runs
    .command('compare <a> <b>')
    .description('stage counts and spec differences of two runs')
    .option('--json')
    .action(async (a: string, b: string, o) => {
      const c = await withDb(stateDir(), async (db) => compareRuns(await findRun(db, a), await findRun(db, b)));
      process.stdout.write(`${o.json ? toJson(c) : formatComparison(c)}\n`);
    });
}
