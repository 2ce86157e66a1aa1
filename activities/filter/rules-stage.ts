// Filter with rules: empty, overlong and duplicate tasks are rejected. Each decision is a
// Verdict row linked to its task (unique per task), the same table the model judge fills.
import type { TFilterSettings } from '../../core/spec';
import { analyze } from '../db/analyze';
import { insertRows } from '../db/insert-rows';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { accounted, acceptedCount } from '../stage/counts';

export const RULES_JUDGE_VERSION = 'rules-v1';

const VERDICT_COLUMNS = { taskId: 'text', judge: 'text', judgeVersion: 'text', label: '"VerdictLabel"', raw: 'text', kept: 'boolean', reason: 'text' } as const;

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
    await analyze(ctx.db, 'SynthTask'); // written by synthesize: the duplicate lookups plan from it
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
    // The first task of a hash (lowest synId over the whole run) is kept, whichever shard sees
    // it first. One grouped query for the shard's hashes and one insert for its verdicts: per
    // task, a lookup and an upsert made the stage a few hundred items/s (two round trips each).
    const hashes = ctx.settings.dropDuplicates ? [...new Set(tasks.map((t) => t.taskHash).filter((h): h is string => !!h))] : [];
    const firsts = hashes.length
      ? await ctx.db.synthTask.groupBy({ by: ['taskHash'], where: { runId: ctx.runId, status: 'OK', taskHash: { in: hashes } }, _min: { synId: true } })
      : [];
    const firstOf = new Map(firsts.map((f) => [f.taskHash, f._min.synId]));
    const verdicts = tasks.map((t) => {
      let reason = ruleRejection(t, ctx.settings);
      const first = t.taskHash ? firstOf.get(t.taskHash) : undefined;
      if (!reason && first != null && first < t.synId) reason = `duplicate task: same as synId ${first}`;
      return { taskId: t.id, judge: 'rules', judgeVersion: RULES_JUDGE_VERSION, label: reason ? ('NO' as const) : ('YES' as const), raw: reason ?? 'ok', kept: !reason, reason };
    });
    // A verdict already written by an earlier try of this shard stands (unique on taskId).
    await insertRows(ctx.db, 'Verdict', VERDICT_COLUMNS, verdicts);
    ctx.heartbeat({ shard, done: tasks.length });
    return { processed: tasks.length };
  },

  async finalize(ctx) {
    const total = await ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK' } });
    const kept = await ctx.db.verdict.count({ where: { task: { runId: ctx.runId, status: 'OK' }, kept: true } });
    const rejected = await ctx.db.verdict.groupBy({
      by: ['reason', 'failed'],
      where: { task: { runId: ctx.runId, status: 'OK' }, kept: false },
      _count: { _all: true },
    });
    const filtered = rejected.reduce((n, r) => n + (r.failed ? 0 : r._count._all), 0);
    const failed = rejected.reduce((n, r) => n + (r.failed ? r._count._all : 0), 0);
    // A task left without a verdict breaks the accounting: a shard lost work.
    const reasons = rejected.map((r) => ({ reason: r.reason, n: r._count._all }));
    return accounted('filter', { in: total, out: kept, filtered, failed }, reasons);
  },
};
