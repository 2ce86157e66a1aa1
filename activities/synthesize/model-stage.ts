// Synthesize with a visual instruction synthesizer model (method.md §4–5): the image and the
// caption go in as the contract's prompt, greedy decoding stops only on end-of-text, the raw
// text is kept, and the literal parser picks at most one triplet. Unparsable output is a
// filtered task with its reason; outputs come through the durable cache.
import { ErrorTypes } from '../../core/errors';
import { synthesisChat } from '../../core/chat/qwen2vl';
import { LLAMA3_SYNTH, LLAMA3_SYSTEM, parseSynthesis, QWEN2VL_SYNTH, synthesisPrompt } from '../../core/synth/contract';
import type { Prisma } from '../db/client';
import { failure } from '../errors';
import { backendFor } from '../inference/backend-for';
import { streamGenerate } from '../inference/generate-stream';
import { datasetImage } from '../inference/images';
import { requireDataset, shardRange, type StageImplementation } from '../stage/context';
import { callCost, synthesisLedger } from '../stage/cost-ledger';
import { planOverAcceptedItems } from '../stage/counts';
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
    const backend = await backendFor(s.model, ctx);
    const dataset = await requireDataset(ctx);
    const { lo, hi } = shardRange(shard, s.shardSize);
    // Items without a task yet: a retried shard asks only for what its last try did not write.
    const items = await ctx.db.item.findMany({
      where: { datasetId: dataset.id, status: 'ACCEPTED', synId: { gte: lo, lt: hi }, tasks: { none: { runId: ctx.runId } } },
      select: { id: true, synId: true, caption: true, resolvedPath: true, imageSha256: true },
      orderBy: { synId: 'asc' },
    });
    const decoding = {
      maxNewTokens: s.maxNewTokens,
      ...(s.promptFormat === 'llava-llama3' ? { stopTokenIds: [contract.endId] } : { stopTokens: [contract.END] }),
      keepSpecialTokens: true,
      ignoreEos: format.ignoreEos,
    };
    const base = (it: (typeof items)[number]) => ({ runId: ctx.runId, itemId: it.id, synId: it.synId!, synthesizer: 'model', synthesizerVersion: backend.identity, promptFormat: contract.promptFormat });
    await streamGenerate({
      db: ctx.db,
      backend,
      promptFormat: contract.promptFormat,
      decoding,
      useCache: s.cache,
      batchSize: s.batchSize,
      jobs: items.map((it) => ({ item: it, request: { prompt: synthesisPrompt(contract, it.caption ?? ''), chat: format.chat(it.caption ?? ''), images: [datasetImage(it.resolvedPath!, it.imageSha256)] } })),
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
