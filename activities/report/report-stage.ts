// The report stage: the run's Markdown report and chart (data funnel, base vs adapted per task
// with the delta) written into the run's artifact folder once evaluation is recorded. The same
// report is what `adamllm runs report` writes on demand.
import type { StageImplementation } from '../stage/context';
import { accounted } from '../stage/counts';
import { writeRunReport } from './run-report';

export const reportStage: StageImplementation<'report'> = {
  async plan(ctx) {
    return { total: await ctx.db.metric.count({ where: { runId: ctx.runId } }), shardCount: 0 };
  },

  async finalize(ctx) {
    const metrics = await ctx.db.metric.count({ where: { runId: ctx.runId } });
    const files = await writeRunReport(ctx.db, ctx.runId, ctx.store.runDir(ctx.runId, 'report'));
    return { ...accounted('report', { in: metrics, out: metrics, filtered: 0, failed: 0 }, []), outputs: { markdown: files.markdown, chart: files.chart } };
  },
};
