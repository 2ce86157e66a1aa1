// Compose the single-stage training set (docs/method.md §7–8): per accepted item, the caption
// task plus the synthetic task when the judge kept it; keptId numbers the items that have a
// triplet in synId order and seeds the placement. One TrainingRow per item, written once.
// `content` makes the two sets of the two-stage baseline instead: every image's caption task
// alone (numbered by synId), or the kept synthetic task alone.
import fs from 'node:fs/promises';
import path from 'node:path';
import { assembleConversation, assembleTaskOnly, composeSynthetic } from '../../core/compose/compose';
import { TEMPLATE_SET_VERSION } from '../../core/compose/templates';
import { analyze } from '../db/analyze';
import { insertRows } from '../db/insert-rows';
import { requireDataset, shardRange, type StageContext, type StageImplementation } from '../stage/context';
import { accounted, acceptedCount, planOverAcceptedItems } from '../stage/counts';

const ROW_COLUMNS = {
  runId: 'text',
  itemId: 'text',
  synId: 'int',
  templateSet: 'text',
  status: '"RowStatus"',
  reason: 'text',
  taskId: 'text',
  keptId: 'int',
  basicTemplate: 'int',
  rationaleTemplate: 'int',
  route: 'text',
  placement: 'text',
  messages: 'jsonb',
  image: 'text',
} as const;

/** An accepted item of the shard with its task and verdict (one row: a task per run and item, a verdict per task). */
interface ItemWithTask {
  id: string;
  synId: number;
  caption: string | null;
  instruction: string | null;
  resolvedPath: string | null;
  taskId: string | null;
  taskStatus: string | null;
  taskReason: string | null;
  question: string | null;
  informative: string | null;
  precise: string | null;
  kept: boolean | null;
}

/**
 * Where each shard's keptId numbering starts: the triplets (OK tasks) in the shards before it.
 * Counted once by plan with one grouped pass and kept beside the run's artifacts: counted by
 * every shard instead, each count scanned the run's tasks (~0.3 s at a million), thousands of
 * times a stage.
 */
const offsetsFile = (ctx: StageContext<'compose'>) => path.join(ctx.store.runDir(ctx.runId, 'compose'), `kept-offsets-attempt-${ctx.attempt}-size-${ctx.settings.shardSize}.json`);

async function writeKeptOffsets(ctx: StageContext<'compose'>, shardCount: number): Promise<void> {
  const size = ctx.settings.shardSize;
  const perShard = await ctx.db.$queryRaw<{ shard: number; n: number }[]>`
    SELECT ("synId" / ${size}::int)::int AS shard, count(*)::int AS n FROM "SynthTask"
    WHERE "runId" = ${ctx.runId} AND status = 'OK' GROUP BY 1`;
  const offsets = new Array<number>(shardCount).fill(0);
  for (const { shard, n } of perShard) if (shard + 1 < shardCount) offsets[shard + 1] += n;
  for (let k = 1; k < shardCount; k++) offsets[k] += offsets[k - 1];
  await ctx.store.writeAtomic(offsetsFile(ctx), (tmp) => fs.writeFile(tmp, JSON.stringify(offsets)));
}

/** Triplets before synId `before`: from plan's offsets, counting only within the shard. */
async function keptIdAt(ctx: StageContext<'compose'>, shard: number, before: number): Promise<number> {
  const lo = shardRange(shard, ctx.settings.shardSize).lo;
  let offset: number;
  try {
    offset = (JSON.parse(await fs.readFile(offsetsFile(ctx), 'utf8')) as number[])[shard];
  } catch {
    // planned by a worker without offsets (an attempt begun before them): count, as then
    return ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK', synId: { lt: before } } });
  }
  const within = before > lo ? await ctx.db.synthTask.count({ where: { runId: ctx.runId, status: 'OK', synId: { gte: lo, lt: before } } }) : 0;
  return offset + within;
}

export const composeStage: StageImplementation<'compose'> = {
  async reset(ctx) {
    await ctx.db.trainingRow.deleteMany({ where: { runId: ctx.runId } });
  },

  async plan(ctx) {
    await analyze(ctx.db, 'SynthTask', 'Verdict'); // written by synthesize and filter, read by every shard
    const plan = await planOverAcceptedItems(ctx);
    await writeKeptOffsets(ctx, plan.shardCount);
    return plan;
  },

  async shard(ctx, shard) {
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    // One query instead of Prisma's nested select (items, then their tasks, then the verdicts).
    const items = await ctx.db.$queryRaw<ItemWithTask[]>`
      SELECT i.id, i."synId", i.caption, i.instruction, i."resolvedPath", t.id AS "taskId", t.status::text AS "taskStatus",
             t.reason AS "taskReason", t.question, t.informative, t.precise, v.kept
      FROM "Item" i
      LEFT JOIN "SynthTask" t ON t."itemId" = i.id AND t."runId" = ${ctx.runId}
      LEFT JOIN "Verdict" v ON v."taskId" = t.id
      WHERE i."datasetId" = ${dataset.id} AND i.status = 'ACCEPTED' AND i."synId" >= ${lo} AND i."synId" < ${hi}
        AND NOT EXISTS (SELECT 1 FROM "TrainingRow" r WHERE r."itemId" = i.id AND r."runId" = ${ctx.runId})
      ORDER BY i."synId"`;
    if (items.length === 0) return { processed: 0 };
    // keptId of the first item with a triplet in this shard = triplets before it in synId order.
    let keptId = await keptIdAt(ctx, shard, items[0].synId);
    const rows: Record<string, unknown>[] = [];
    const content = ctx.settings.content;
    for (const item of items) {
      const synId = item.synId;
      const base = { runId: ctx.runId, itemId: item.id, synId, templateSet: TEMPLATE_SET_VERSION };
      if (content === 'caption-only') {
        // every accepted image, tasks or none: numbered by synId, the order export writes in
        const assembled = assembleConversation(item.instruction ?? '', item.caption ?? '', null, synId);
        rows.push(assembled.ok ? { ...base, keptId: synId, status: 'INCLUDED', placement: 'start', messages: assembled.messages, image: item.resolvedPath } : { ...base, keptId: synId, status: 'SKIPPED', reason: assembled.reason });
        continue;
      }
      if (!item.taskId || item.taskStatus !== 'OK') {
        rows.push({ ...base, status: 'SKIPPED', reason: `no triplet: ${item.taskReason ?? 'not synthesized'}`, taskId: item.taskId });
        continue;
      }
      const keep = item.kept !== null ? item.kept : ctx.settings.unjudged === 'keep-task';
      const pair = composeSynthetic({ question: item.question!, informative: item.informative!, precise: item.precise! }, synId);
      const common = { ...base, taskId: item.taskId, keptId, basicTemplate: pair.basicTemplate, rationaleTemplate: pair.rationaleTemplate };
      keptId++;
      if (content === 'task-only' && !keep) {
        rows.push({ ...common, status: 'SKIPPED', reason: 'task not kept (task-only set)' });
        continue;
      }
      const assembled = content === 'task-only' ? assembleTaskOnly(pair) : assembleConversation(item.instruction ?? '', item.caption ?? '', keep ? pair : null, common.keptId);
      if (!assembled.ok) {
        rows.push({ ...common, status: 'SKIPPED', reason: assembled.reason });
        continue;
      }
      rows.push({ ...common, status: 'INCLUDED', route: keep ? pair.route : null, placement: assembled.placement, messages: assembled.messages, image: item.resolvedPath });
    }
    // unique on (run, item): a row an earlier try of this shard wrote stands
    await insertRows(ctx.db, 'TrainingRow', ROW_COLUMNS, rows);
    ctx.heartbeat({ shard, done: rows.length });
    return { processed: rows.length };
  },

  async finalize(ctx) {
    await analyze(ctx.db, 'TrainingRow'); // export pages through these rows by keptId
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
