// Synthesize with the manual-rules baseline: one triplet per accepted item, written once
// (unique on run + item), so a retried shard neither duplicates nor loses a task.
import { createHash } from 'node:crypto';
import { RULES_SYNTHESIZER_VERSION, synthesizeByRules } from '../../core/rules-synth';
import type { Triplet } from '../../core/compose/compose';
import type { Prisma } from '../db/client';
import { insertRows } from '../db/insert-rows';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { accounted, acceptedCount, planOverAcceptedItems } from '../stage/counts';

/** Hash of the normalised triplet: case and whitespace runs do not make a task new. */
export function tripletHash(t: Triplet): string {
  const norm = (s: string) => s.toLowerCase().replace(/\s+/gu, ' ').trim();
  return createHash('sha256').update([t.question, t.informative, t.precise].map(norm).join('\u0000')).digest('hex');
}

const TASK_COLUMNS = {
  runId: 'text',
  itemId: 'text',
  synId: 'int',
  synthesizer: 'text',
  synthesizerVersion: 'text',
  promptFormat: 'text',
  status: '"TaskStatus"',
  reason: 'text',
  rule: 'text',
  question: 'text',
  informative: 'text',
  precise: 'text',
  rawOutput: 'text',
  finishReason: 'text',
  taskHash: 'text',
} as const;

export const rulesSynthesizeStage: StageImplementation<'synthesize'> = {
  async reset(ctx) {
    await ctx.db.synthTask.deleteMany({ where: { runId: ctx.runId } });
  },

  plan: planOverAcceptedItems,

  async shard(ctx, shard) {
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    const items = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'ACCEPTED', synId: { gte: lo, lt: hi }, tasks: { none: { runId: ctx.runId } } },
      select: { id: true, synId: true, caption: true },
      orderBy: { synId: 'asc' },
    });
    const rows: Prisma.SynthTaskCreateManyInput[] = items.map((item) => {
      const synId = item.synId!;
      const base = { runId: ctx.runId, itemId: item.id, synId, synthesizer: 'rules', synthesizerVersion: RULES_SYNTHESIZER_VERSION, promptFormat: 'none' };
      const r = synthesizeByRules(item.caption ?? '', synId);
      if (!r.ok) return { ...base, status: 'FILTERED', reason: r.reason };
      return { ...base, status: 'OK', rule: r.rule, ...r.triplet, rawOutput: JSON.stringify(r.triplet), finishReason: 'stop', taskHash: tripletHash(r.triplet) };
    });
    // unique on (run, item): a task an earlier try of this shard wrote stands
    await insertRows(ctx.db, 'SynthTask', TASK_COLUMNS, rows as unknown as Record<string, unknown>[]);
    ctx.heartbeat({ shard, done: rows.length });
    return { processed: rows.length };
  },

  async finalize(ctx) {
    const dataset = await requireDataset(ctx);
    const total = await acceptedCount(ctx.db, dataset.id);
    const byStatus = await ctx.db.synthTask.groupBy({ by: ['status'], where: { runId: ctx.runId }, _count: { _all: true } });
    const n = (s: string) => byStatus.find((b) => b.status === s)?._count._all ?? 0;
    const reasons = await ctx.db.synthTask.groupBy({ by: ['reason'], where: { runId: ctx.runId, status: { not: 'OK' } }, _count: { _all: true } });
    return accounted('synthesize', { in: total, out: n('OK'), filtered: n('FILTERED'), failed: n('FAILED') }, reasons.map((r) => ({ reason: r.reason, n: r._count._all })));
  },
};
