// Filter with rules: empty, overlong and duplicate tasks are rejected. Each decision is a
// Verdict row linked to its task (unique per task), the same table the model judge fills.
import type { TFilterSettings } from '../../core/spec';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { accounted, acceptedCount } from '../stage/counts';

export const RULES_JUDGE_VERSION = 'rules-v1';

interface TaskText {
  question: string | null;
  informative: string | null;
  precise: string | null;
}

/** Why a task is rejected, or null to keep it. Duplicates are decided separately (they need the run). */
export function ruleRejection(t: TaskText, s: Pick<TFilterSettings, 'maxQuestionChars' | 'maxAnswerChars'>): string | null {
  if (!t.question?.trim()) return 'empty question';
  if (!t.informative?.trim() || !t.precise?.trim()) return 'empty answer';
  if ([...t.question].length > s.maxQuestionChars) return `overlong question: more than ${s.maxQuestionChars} characters`;
  if ([...t.informative].length > s.maxAnswerChars || [...t.precise].length > s.maxAnswerChars) {
    return `overlong answer: more than ${s.maxAnswerChars} characters`;
  }
  return null;
}

export const rulesFilterStage: StageImplementation<'filter'> = {
  async reset(ctx) {
    await ctx.db.verdict.deleteMany({ where: { task: { runId: ctx.runId } } });
  },

  async plan(ctx) {
    const dataset = await requireDataset(ctx);
    const total = await ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK' } });
    const items = await acceptedCount(ctx.db, dataset.id);
    return { total, shardCount: total === 0 ? 0 : Math.ceil(items / ctx.settings.shardSize) };
  },

  async shard(ctx, shard) {
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    const tasks = await ctx.db.synthTask.findMany({
      where: { runId: ctx.runId, status: 'OK', synId: { gte: lo, lt: hi }, verdict: null },
      select: { id: true, synId: true, question: true, informative: true, precise: true, taskHash: true },
      orderBy: { synId: 'asc' },
    });
    for (const t of tasks) {
      let reason = ruleRejection(t, ctx.settings);
      if (!reason && ctx.settings.dropDuplicates && t.taskHash) {
        // The first task of a hash (lowest synId) is kept, whichever shard sees it first.
        const first = await ctx.db.synthTask.findFirst({
          where: { runId: ctx.runId, status: 'OK', taskHash: t.taskHash, synId: { lt: t.synId } },
          select: { synId: true },
          orderBy: { synId: 'asc' },
        });
        if (first) reason = `duplicate task: same as synId ${first.synId}`;
      }
      await ctx.db.verdict.upsert({
        where: { taskId: t.id },
        create: { taskId: t.id, judge: 'rules', judgeVersion: RULES_JUDGE_VERSION, label: reason ? 'NO' : 'YES', raw: reason ?? 'ok', kept: !reason, reason },
        update: {},
      });
    }
    ctx.heartbeat({ shard, done: tasks.length });
    return { processed: tasks.length };
  },

  async finalize(ctx) {
    const total = await ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK' } });
    const kept = await ctx.db.verdict.count({ where: { task: { runId: ctx.runId, status: 'OK' }, kept: true } });
    const rejected = await ctx.db.verdict.groupBy({
      by: ['reason'],
      where: { task: { runId: ctx.runId, status: 'OK' }, kept: false },
      _count: { _all: true },
    });
    const filtered = rejected.reduce((n, r) => n + r._count._all, 0);
    // A task left without a verdict breaks the accounting: a shard lost work.
    const reasons = rejected.map((r) => ({ reason: r.reason, n: r._count._all }));
    return accounted('filter', { in: total, out: kept, filtered, failed: 0 }, reasons);
  },
};
