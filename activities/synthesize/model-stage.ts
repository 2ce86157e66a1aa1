// Synthesize with a visual instruction synthesizer model (docs/method.md §4–5): the image and the
// caption go in as the contract's prompt, greedy decoding stops only on end-of-text, the raw
// text is kept, and the literal parser picks at most one triplet. Unparsable output is a
// filtered task with its reason; outputs come through the durable cache.
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import { parseSynthesis, SYNTH_CONTRACTS } from '../../core/synth/contract';
import type { Prisma } from '../db/client';
import { failure } from '../errors';
import { backendFor } from '../inference/backend-for';
import { requireVllm } from '../inference/openai-backend';
import { streamGenerate } from '../inference/generate-stream';
import { datasetImage, preparedImage } from '../inference/images';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { callCost, synthesisLedger } from '../stage/cost-ledger';
import { failWhenEveryRequestFailed } from '../stage/every-request-failed';
import { planOverAcceptedItems } from '../stage/counts';
import { rulesSynthesizeStage, tripletHash } from './rules-stage';
import { prepareSynthImage } from './synth-image';
import { synthesisDecoding, synthesisRequest } from './synthesis-request';

export const modelSynthesizeStage: StageImplementation<'synthesize'> = {
  reset: rulesSynthesizeStage.reset,
  plan: planOverAcceptedItems,
  async finalize(ctx) {
    const result = await rulesSynthesizeStage.finalize(ctx);
    const failed = await ctx.db.synthTask.groupBy({ by: ['reason'], where: { runId: ctx.runId, status: 'FAILED' }, _count: { _all: true } });
    await failWhenEveryRequestFailed({ what: 'synthesize', made: result.counts.in, failed: result.counts.failed, reasons: failed.map((r) => ({ reason: r.reason, n: r._count._all })) }, () =>
      ctx.db.synthTask.deleteMany({ where: { runId: ctx.runId, status: 'FAILED' } }),
    );
    return { ...result, outputs: await synthesisLedger(ctx.db, ctx.runId) };
  },

  async shard(ctx, shard) {
    const s = ctx.settings;
    if (!s.model) throw failure(ErrorTypes.InvalidRunSpec, 'stages.synthesize.model: required when synthesizer is "model"');
    const contract = SYNTH_CONTRACTS[s.promptFormat];
    const backend = await backendFor(s.model, ctx);
    requireVllm(backend, `the ${s.promptFormat} synthesizer prompt (an assistant message continued, ignore_eos with its end token as the only stop)`);
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, s.shardSize);
    // Items without a task yet: a retried shard asks only for what its last try did not write.
    const items = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'ACCEPTED', synId: { gte: lo, lt: hi }, tasks: { none: { runId: ctx.runId } } },
      select: { id: true, synId: true, caption: true, resolvedPath: true, imageSha256: true },
      orderBy: { synId: 'asc' },
    });
    const decoding = synthesisDecoding(s.promptFormat, s.maxNewTokens);
    // qwen2vl: at the trainer's scale (synth-image.ts); the released LLaVA-NeXT model tiles images itself
    const sizing = { maxPixels: s.imageMaxPixels, minPixels: s.imageMinPixels };
    const mediaDir = path.join(ctx.store.root, 'media');
    const image = (file: string, sha: string | null) => {
      const stored = datasetImage(file, sha);
      return s.promptFormat === 'qwen2vl' ? preparedImage(stored.load, stored.sha256, { synthImage: sizing }, (b) => prepareSynthImage(b, sizing), mediaDir) : stored;
    };
    const base = (it: (typeof items)[number]) => ({ runId: ctx.runId, itemId: it.id, synId: it.synId!, synthesizer: 'model', synthesizerVersion: backend.identity, promptFormat: contract.promptFormat });
    await streamGenerate({
      db: ctx.db,
      backend,
      promptFormat: contract.promptFormat,
      decoding,
      useCache: s.cache,
      batchSize: s.batchSize,
      jobs: items.map((it) => ({ item: it, request: synthesisRequest(s.promptFormat, it.caption ?? '', image(it.resolvedPath!, it.imageSha256)) })),
      write: async (outcomes) => {
        const rows: Prisma.SynthTaskCreateManyInput[] = outcomes.map(({ item, result: out, error }) => {
          if (!out) return { ...base(item), status: 'FAILED', reason: error };
          const parsed = parseSynthesis(out.text, contract);
          const common = { ...base(item), rawOutput: out.text, finishReason: out.finishReason, ...callCost(out) };
          return parsed.ok ? { ...common, status: 'OK', ...parsed.triplet, taskHash: tripletHash(parsed.triplet) } : { ...common, status: 'FILTERED', reason: parsed.reason };
        });
        await ctx.db.synthTask.createMany({ data: rows, skipDuplicates: true });
      },
      heartbeat: (d) => ctx.heartbeat({ shard, ...d }),
      heartbeatEveryMs: ctx.heartbeatEveryMs,
      signal: ctx.cancelled,
    });
    return { processed: items.length };
  },
};
