// Synthesize with a visual instruction synthesizer model (method.md §4–5): the image and the
// caption go in as the contract's prompt, greedy decoding stops only on end-of-text, the raw
// text is kept, and the literal parser picks at most one triplet. Unparsable output is a
// filtered task with its reason; outputs come through the durable cache.
import fs from 'node:fs/promises';
import { ErrorTypes } from '../../core/errors';
import { synthesisChat } from '../../core/chat/qwen2vl';
import { LLAMA3_SYNTH, LLAMA3_SYSTEM, parseSynthesis, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import type { Prisma } from '../db/client';
import { failure } from '../errors';
import { cachedGenerate } from '../models/cached-generate';
import { backendFor } from '../models/backend-for';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { planOverAcceptedItems, synthesisLedger } from '../stage/counts';
import { rulesSynthesizeStage, tripletHash } from './rules-stage';

/** Per prompt format: the contract, its chat form for chat APIs, and the decoding it needs. */
const FORMATS = {
  qwen2vl: { contract: QWEN2VL_SYNTH, chat: (caption: string) => synthesisChat(caption), ignoreEos: false },
  // The released synthesizer: llava_llama_3 system sentence; stop only on <|end_of_text|>, never
  // on <|eot_id|>, which its generation config lists as EOS (method.md §4.3).
  'llava-llama3': { contract: LLAMA3_SYNTH, chat: (caption: string) => synthesisChat(caption, LLAMA3_SYSTEM), ignoreEos: true },
} as const;

export const modelSynthesizeStage: StageImplementation<'synthesize'> = {
  reset: rulesSynthesizeStage.reset,
  plan: planOverAcceptedItems,
  async finalize(ctx) {
    return { ...(await rulesSynthesizeStage.finalize(ctx)), outputs: await synthesisLedger(ctx.db, ctx.runId) };
  },

  async shard(ctx, shard) {
    const s = ctx.settings;
    if (!s.model) throw failure(ErrorTypes.InvalidRunSpec, 'stages.synthesize.model: required when synthesizer is "model"');
    const format = FORMATS[s.promptFormat];
    const contract = format.contract;
    const backend = await backendFor(s.model);
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, s.shardSize);
    const items = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'ACCEPTED', synId: { gte: lo, lt: hi }, tasks: { none: { runId: ctx.runId } } },
      select: { id: true, synId: true, caption: true, resolvedPath: true },
      orderBy: { synId: 'asc' },
    });
    const decoding = {
      maxNewTokens: s.maxNewTokens,
      ...(s.promptFormat === 'llava-llama3' ? { stopTokenIds: [contract.endId] } : { stopTokens: [contract.END] }),
      keepSpecialTokens: true,
      ignoreEos: format.ignoreEos,
    };
    let done = 0;
    for (let i = 0; i < items.length; i += s.batchSize) {
      if (ctx.cancelled.aborted) throw new Error('cancelled');
      const batch = items.slice(i, i + s.batchSize);
      const base = (it: (typeof batch)[number]) => ({ runId: ctx.runId, itemId: it.id, synId: it.synId!, synthesizer: 'model', synthesizerVersion: backend.identity, promptFormat: contract.promptFormat });
      const rows: Prisma.SynthTaskCreateManyInput[] = [];
      const ready: { item: (typeof batch)[number]; image: Uint8Array }[] = [];
      for (const it of batch) {
        try {
          ready.push({ item: it, image: await fs.readFile(it.resolvedPath!) });
        } catch (e) {
          rows.push({ ...base(it), status: 'FAILED', reason: `image unreadable: ${(e as Error).message}` });
        }
      }
      const results = await cachedGenerate(ctx.db, backend, contract.promptFormat, ready.map((r) => ({ prompt: synthesisPrompt(contract, r.item.caption ?? ''), chat: format.chat(r.item.caption ?? ''), images: [r.image] })), decoding, s.cache);
      ready.forEach(({ item }, j) => {
        const out = results[j];
        const parsed = parseSynthesis(out.text, contract);
        const cost = { promptTokens: out.promptTokens, completionTokens: out.completionTokens, modelMs: out.cached ? 0 : out.ms, cached: out.cached };
        const common = { ...base(item), rawOutput: out.text, finishReason: out.finishReason, ...cost };
        rows.push(parsed.ok ? { ...common, status: 'OK', ...parsed.triplet, taskHash: tripletHash(parsed.triplet) } : { ...common, status: 'FILTERED', reason: parsed.reason });
      });
      await ctx.db.synthTask.createMany({ data: rows, skipDuplicates: true });
      done += batch.length;
      ctx.heartbeat({ shard, done });
    }
    return { processed: items.length };
  },
};
