// Compose the single-stage training set (method.md §7–8): per accepted item, the caption
// task plus the synthetic task when the judge kept it; keptId numbers the items that have a
// triplet in synId order and seeds the placement. One TrainingRow per item, written once.
import { assembleConversation, composeSynthetic } from '../../core/compose/compose';
import { TEMPLATE_SET_VERSION } from '../../core/compose/templates';
import type { Prisma } from '../db/client';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { accounted, acceptedCount, planOverAcceptedItems } from '../stage/counts';

export const composeStage: StageImplementation<'compose'> = {
  async reset(ctx) {
    await ctx.db.trainingRow.deleteMany({ where: { runId: ctx.runId } });
  },

  plan: planOverAcceptedItems,

  async shard(ctx, shard) {
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    const items = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'ACCEPTED', synId: { gte: lo, lt: hi }, rows: { none: { runId: ctx.runId } } },
      select: {
        id: true,
        synId: true,
        caption: true,
        instruction: true,
        resolvedPath: true,
        tasks: {
          where: { runId: ctx.runId },
          select: { id: true, status: true, reason: true, question: true, informative: true, precise: true, verdict: { select: { kept: true } } },
        },
      },
      orderBy: { synId: 'asc' },
    });
    if (items.length === 0) return { processed: 0 };
    // keptId of the first item with a triplet in this shard = triplets before it in synId order.
    let keptId = await ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK', synId: { lt: items[0].synId! } } });
    const rows: Prisma.TrainingRowCreateManyInput[] = [];
    for (const item of items) {
      const synId = item.synId!;
      const task = item.tasks[0];
      const base = { runId: ctx.runId, itemId: item.id, synId, templateSet: TEMPLATE_SET_VERSION };
      if (!task || task.status !== 'OK') {
        rows.push({ ...base, status: 'SKIPPED', reason: `no triplet: ${task?.reason ?? 'not synthesized'}`, taskId: task?.id ?? null });
        continue;
      }
      const keep = task.verdict ? task.verdict.kept : ctx.settings.unjudged === 'keep-task';
      const pair = composeSynthetic({ question: task.question!, informative: task.informative!, precise: task.precise! }, synId);
      const assembled = assembleConversation(item.instruction ?? '', item.caption ?? '', keep ? pair : null, keptId);
      const common = { ...base, taskId: task.id, keptId, basicTemplate: pair.basicTemplate, rationaleTemplate: pair.rationaleTemplate };
      keptId++;
      if (!assembled.ok) {
        rows.push({ ...common, status: 'SKIPPED', reason: assembled.reason });
        continue;
      }
      rows.push({
        ...common,
        status: 'INCLUDED',
        route: keep ? pair.route : null,
        placement: assembled.placement,
        messages: assembled.messages as unknown as Prisma.InputJsonValue,
        image: item.resolvedPath,
      });
    }
    await ctx.db.trainingRow.createMany({ data: rows, skipDuplicates: true });
    ctx.heartbeat({ shard, done: rows.length });
    return { processed: rows.length };
  },

  async finalize(ctx) {
    const dataset = await requireDataset(ctx);
    const total = await acceptedCount(ctx.db, dataset.id);
    const byStatus = await ctx.db.trainingRow.groupBy({ by: ['status'], where: { runId: ctx.runId }, _count: { _all: true } });
    const n = (s: string) => byStatus.find((b) => b.status === s)?._count._all ?? 0;
    const reasons = await ctx.db.trainingRow.groupBy({ by: ['reason'], where: { runId: ctx.runId, status: 'SKIPPED' }, _count: { _all: true } });
    const withSynthetic = await ctx.db.trainingRow.count({ where: { runId: ctx.runId, status: 'INCLUDED', route: { not: null } } });
    const result = accounted('compose', { in: total, out: n('INCLUDED'), filtered: n('SKIPPED'), failed: 0 }, reasons.map((r) => ({ reason: r.reason, n: r._count._all })));
    return { ...result, outputs: { withSyntheticTask: withSynthetic, captionOnly: n('INCLUDED') - withSynthetic } };
  },
};
