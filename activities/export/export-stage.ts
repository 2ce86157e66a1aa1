// The export stage: the run's training set as a file a trainer reads, in LLaMA-Factory's format
// (llama-factory.ts) with its dataset_info.json entry, recorded as artifacts. Rows stream from
// the database in keptId order, so the file is never held in memory.
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { ErrorTypes } from '../../core/errors';
import type { ChatMessage } from '../../core/compose/compose';
import { failure } from '../errors';
import { requireDataset, type StageImplementation } from '../stage/context';
import { accounted } from '../stage/counts';
import { datasetInfo, validateExportedRow, type ExportedRow } from './llama-factory';

const PAGE = 1000;

export const exportStage: StageImplementation<'export'> = {
  async plan(ctx) {
    const total = await ctx.db.trainingRow.count({ where: { runId: ctx.runId, status: 'INCLUDED' } });
    return { total, shardCount: 0 };
  },

  /** Writes both files atomically and records them as artifacts; re-running rewrites the same bytes. */
  async finalize(ctx) {
    const dataset = await requireDataset(ctx);
    const total = await ctx.db.trainingRow.count({ where: { runId: ctx.runId, status: 'INCLUDED' } });
    if (total === 0) throw failure(ErrorTypes.MissingStageOutput, 'export: compose produced no training row');
    const dir = ctx.store.runDir(ctx.runId, 'export');
    const imageRef = (p: string) => (ctx.settings.imagePaths === 'absolute' ? p : path.relative(dataset.imageRoot, p));
    let written = 0;
    const data = await ctx.store.writeAtomic(path.join(dir, ctx.settings.fileName), async (tmp) => {
      const out = createWriteStream(tmp);
      const write = async (s: string) => {
        if (!out.write(s)) await once(out, 'drain');
      };
      await write('[\n');
      let cursor = -1;
      for (;;) {
        const page = await ctx.db.trainingRow.findMany({
          where: { runId: ctx.runId, status: 'INCLUDED', keptId: { gt: cursor } },
          select: { keptId: true, messages: true, image: true },
          orderBy: { keptId: 'asc' },
          take: PAGE,
        });
        if (page.length === 0) break;
        for (const r of page) {
          const row: ExportedRow = { messages: r.messages as unknown as ChatMessage[], images: [imageRef(r.image!)] };
          const problem = validateExportedRow(row);
          if (problem) throw failure(ErrorTypes.AccountingMismatch, `export: training row keptId ${r.keptId} is invalid: ${problem}`);
          await write(`${written === 0 ? '' : ',\n'}${JSON.stringify(row)}`);
          written++;
        }
        cursor = page[page.length - 1].keptId!;
        ctx.heartbeat({ written });
      }
      await write('\n]\n');
      out.end();
      await once(out, 'finish');
    });
    const name = ctx.settings.datasetName ?? ctx.spec.domain;
    const info = datasetInfo(name, ctx.settings.fileName);
    const infoFile = await ctx.store.writeAtomic(path.join(dir, 'dataset_info.json'), (tmp) => fs.writeFile(tmp, `${JSON.stringify(info, null, 2)}\n`));
    // a set that names its images relatively says relative to what: the train stage passes it on
    const meta = { rows: written, format: 'llama-factory', ...(ctx.settings.imagePaths === 'relative' ? { imageRoot: dataset.imageRoot } : {}) };
    for (const [kind, f] of [['training-set', data], ['dataset-info', infoFile]] as const) {
      await ctx.db.artifact.upsert({
        where: { runId_stage_kind: { runId: ctx.runId, stage: 'export', kind } },
        create: { runId: ctx.runId, stage: 'export', kind, uri: f.uri, sha256: f.sha256, bytes: BigInt(f.bytes), meta },
        update: { uri: f.uri, sha256: f.sha256, bytes: BigInt(f.bytes), meta },
      });
    }
    const result = accounted('export', { in: total, out: written, filtered: 0, failed: 0 }, []);
    return { ...result, outputs: { trainingSet: data.path, datasetInfo: infoFile.path, datasetDir: dir, rows: written, sha256: data.sha256 } };
  },
};
