// Ingest: stream the annotation file into Item rows (plan), check each image in shards,
// then dedup identical images and number the accepted items with synId (finalize).
import fs from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { ErrorTypes } from '../../core/errors';
import type { StageResult } from '../../core/types';
import { Prisma } from '../db/client';
import { analyze } from '../db/analyze';
import { insertRows } from '../db/insert-rows';
import { failure } from '../errors';
import { requireDataset, shardRange, type StageContext, type StageImplementation } from '../stage/context';
import { accounted } from '../stage/counts';
import { readSourceRows, type SourceRow } from './readers';
import { checkImage, type ImageCheck } from './check-image';

const INSERT_BATCH = 500;
const WRITE_BATCH = 32;

/** Reasons decided from the annotation row alone (readers.ts); new image settings cannot change them. */
const SOURCE_ERRORS = ['malformed entry', 'invalid UTF-8', 'missing caption', 'empty caption', 'missing image path'];

async function realRoot(imageRoot: string): Promise<string> {
  try {
    return await fs.realpath(path.resolve(imageRoot));
  } catch {
    throw failure(ErrorTypes.InvalidInput, `dataset.imageRoot: folder ${imageRoot} does not exist`);
  }
}

const ITEM_COLUMNS = { datasetId: 'text', sourceIndex: 'int', imagePath: 'text', caption: 'text', instruction: 'text', status: '"ItemStatus"', reason: 'text' } as const;

function toItem(datasetId: string, r: SourceRow): Prisma.ItemCreateManyInput {
  return {
    datasetId,
    sourceIndex: r.sourceIndex,
    imagePath: r.image,
    caption: r.caption,
    instruction: r.instruction,
    status: r.error ? 'FAILED' : 'PENDING',
    reason: r.error ?? null,
  };
}

export const ingestStage: StageImplementation<'ingest'> = {
  /** Re-checks every image (new limits may accept or refuse differently); source-row errors stand. */
  async reset(ctx) {
    const ds = await ctx.db.dataset.findUnique({ where: { runId_name: { runId: ctx.runId, name: ctx.spec.dataset.name } }, select: { id: true } });
    if (!ds) return;
    await ctx.db.item.updateMany({
      where: { datasetId: ds.id, NOT: { status: 'FAILED', OR: SOURCE_ERRORS.map((k) => ({ reason: { startsWith: k } })) } },
      data: { status: 'PENDING', reason: null, synId: null, imageSha256: null, resolvedPath: null, format: null, width: null, height: null, bytes: null },
    });
  },

  /** Streams rows into Item (idempotent: a row already there by (dataset, sourceIndex) is skipped); resumes after the rows already written. */
  async plan(ctx) {
    const ds = ctx.spec.dataset;
    const root = await realRoot(ds.imageRoot);
    const file = path.resolve(ds.path);
    const dataset = await ctx.db.dataset.upsert({
      where: { runId_name: { runId: ctx.runId, name: ds.name } },
      create: { runId: ctx.runId, name: ds.name, format: ds.format, sourcePath: file, imageRoot: root },
      update: {},
      select: { id: true },
    });
    const already = await ctx.db.item.count({ where: { datasetId: dataset.id } });
    let total = 0;
    let batch: Prisma.ItemCreateManyInput[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      await insertRows(ctx.db, 'Item', ITEM_COLUMNS, batch as unknown as Record<string, unknown>[]);
      batch = [];
      ctx.heartbeat({ rowsWritten: total });
    };
    for await (const row of readSourceRows(ds, file)) {
      total++;
      if (row.sourceIndex < already) continue; // written before a crash
      batch.push(toItem(dataset.id, row));
      if (batch.length >= INSERT_BATCH) await flush();
      if (ctx.cancelled.aborted) throw new Error('cancelled');
    }
    await flush();
    await analyze(ctx.db, 'Item'); // the shards' range queries plan from these rows
    await ctx.db.dataset.update({ where: { id: dataset.id }, data: { rowCount: total } });
    return { total, shardCount: Math.ceil(total / ctx.settings.shardSize) };
  },

  /** Checks the pending images of one sourceIndex range; decided rows are never redone. */
  async shard(ctx, shard) {
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    await refuseLongCaptions(ctx, dataset.id, lo, hi);
    const pending = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'PENDING', sourceIndex: { gte: lo, lt: hi } },
      select: { id: true, imagePath: true },
      orderBy: { sourceIndex: 'asc' },
    });
    const limit = pLimit(ctx.settings.imageConcurrency);
    let buffer: ItemCheck[] = [];
    let done = 0;
    let writing = Promise.resolve();
    // Results are written in small batches: one statement per batch instead of one per image,
    // while a crash loses at most one batch of checks (they are simply redone).
    const flush = () => {
      const batch = buffer;
      buffer = [];
      writing = writing.then(async () => {
        await writeChecks(ctx, batch);
        done += batch.length;
        ctx.heartbeat({ shard, done });
      });
      return writing;
    };
    await Promise.all(
      pending.map((item) =>
        limit(async () => {
          if (ctx.cancelled.aborted) return;
          const check = await checkImage(dataset.imageRoot, item.imagePath, ctx.settings);
          buffer.push({ id: item.id, check }); // after the await: flush() may have swapped the buffer
          if (buffer.length >= WRITE_BATCH) await flush();
        }),
      ),
    );
    await flush();
    if (ctx.cancelled.aborted) throw new Error('cancelled');
    return { processed: pending.length };
  },

  /** Filters later copies of an identical image, numbers accepted items (synId), checks the accounting. */
  async finalize(ctx) {
    const dataset = await requireDataset(ctx);
    if (ctx.settings.dedupImages) {
      await ctx.db.$executeRaw`
        UPDATE "Item" i SET status = 'FILTERED', reason = 'duplicate image: same content as row ' || d.first
        FROM (SELECT id, "sourceIndex", MIN("sourceIndex") OVER (PARTITION BY "imageSha256") AS first
              FROM "Item" WHERE "datasetId" = ${dataset.id} AND status = 'ACCEPTED') d
        WHERE i.id = d.id AND d."sourceIndex" > d.first`;
    }
    await ctx.db.$executeRaw`UPDATE "Item" SET "synId" = NULL WHERE "datasetId" = ${dataset.id} AND status <> 'ACCEPTED' AND "synId" IS NOT NULL`;
    await ctx.db.$executeRaw`
      UPDATE "Item" i SET "synId" = r.rn - 1
      FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY "sourceIndex") AS rn FROM "Item"
            WHERE "datasetId" = ${dataset.id} AND status = 'ACCEPTED') r
      WHERE i.id = r.id`;
    await analyze(ctx.db, 'Item'); // every item's status and synId changed: the later stages read by them
    const result = await ingestCounts(ctx, dataset.id);
    if (result.counts.out === 0) {
      throw failure(ErrorTypes.DatasetEmpty, `ingest accepted no item out of ${result.counts.in}: ${JSON.stringify(result.reasons)}`);
    }
    return result;
  },
};

/**
 * Fails the pending items of [lo, hi) whose caption is longer than maxCaptionChars (before any
 * image is decoded). Checked here rather than in the reader so that a retry with a patched
 * limit re-decides it (reset returns these items to PENDING). char_length counts code points.
 */
async function refuseLongCaptions(ctx: StageContext<'ingest'>, datasetId: string, lo: number, hi: number): Promise<void> {
  const max = ctx.settings.maxCaptionChars;
  await ctx.db.$executeRaw`
    UPDATE "Item" SET status = 'FAILED', "updatedAt" = NOW(),
      reason = 'caption too long: ' || char_length(caption) || ' characters > ingest.maxCaptionChars ' || ${max}::int
    WHERE "datasetId" = ${datasetId} AND status = 'PENDING' AND "sourceIndex" >= ${lo} AND "sourceIndex" < ${hi}
      AND char_length(caption) > ${max}`;
}

interface ItemCheck {
  id: string;
  check: ImageCheck;
}

async function writeChecks(ctx: StageContext<'ingest'>, batch: ItemCheck[]): Promise<void> {
  if (batch.length === 0) return;
  const col = <T>(f: (c: ItemCheck) => T) => batch.map(f);
  const ok = (c: ImageCheck) => (c.ok ? c : null);
  await ctx.db.$executeRaw`
    UPDATE "Item" AS i SET
      status = v.status::"ItemStatus", reason = v.reason, "resolvedPath" = v.resolved, "imageSha256" = v.sha,
      format = v.format, width = v.width, height = v.height, bytes = v.bytes, "updatedAt" = NOW()
    FROM unnest(
      ${col((b) => b.id)}::text[], ${col((b) => (b.check.ok ? 'ACCEPTED' : 'FAILED'))}::text[], ${col((b) => (b.check.ok ? null : b.check.reason))}::text[],
      ${col((b) => b.check.resolvedPath ?? null)}::text[], ${col((b) => ok(b.check)?.sha256 ?? null)}::text[], ${col((b) => ok(b.check)?.format ?? null)}::text[],
      ${col((b) => ok(b.check)?.width ?? null)}::int[], ${col((b) => ok(b.check)?.height ?? null)}::int[], ${col((b) => ok(b.check)?.bytes ?? null)}::int[]
    ) AS v(id, status, reason, resolved, sha, format, width, height, bytes)
    WHERE i.id = v.id AND i.status = 'PENDING'`;
}

async function ingestCounts(ctx: StageContext<'ingest'>, datasetId: string): Promise<StageResult> {
  const ds = await ctx.db.dataset.findUniqueOrThrow({ where: { id: datasetId }, select: { rowCount: true } });
  const byStatus = await ctx.db.item.groupBy({ by: ['status'], where: { datasetId }, _count: { _all: true } });
  const n = (s: string) => byStatus.find((b) => b.status === s)?._count._all ?? 0;
  const counts = { in: ds.rowCount ?? 0, out: n('ACCEPTED'), filtered: n('FILTERED'), failed: n('FAILED') };
  if (n('PENDING') > 0) {
    throw failure(ErrorTypes.AccountingMismatch, `ingest: ${n('PENDING')} items were never checked (in ${counts.in}, out ${counts.out}, filtered ${counts.filtered}, failed ${counts.failed})`);
  }
  const reasons = await ctx.db.item.groupBy({
    by: ['reason'],
    where: { datasetId, status: { in: ['FILTERED', 'FAILED'] } },
    _count: { _all: true },
  });
  return accounted('ingest', counts, reasons.map((r) => ({ reason: r.reason, n: r._count._all })));
}
