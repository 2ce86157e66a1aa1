// Filter with the consistency judge (docs/method.md §6): a base text LM continues our few-shot
// prompt after "Consistent:" with at most 2 greedy tokens; only exactly "yes" keeps the task.
// Outputs come through the durable cache, so a re-run or a second run costs no model time;
// verdicts are written as answers arrive (inference/generate-stream.ts).
import { JUDGE_PROMPT_VERSION, judgePrompt, parseJudgeLabel } from '../../core/judge/prompt';
import { ErrorTypes } from '../../core/errors';
import { failure } from '../errors';
import { backendFor } from '../inference/backend-for';
import { streamGenerate } from '../inference/generate-stream';
import { shardRange, type StageImplementation } from '../stage/context';
import { callCost, judgeLedger } from '../stage/cost-ledger';
import { failWhenEveryRequestFailed } from '../stage/every-request-failed';
import { rulesFilterStage } from './rules-stage';

const DECODING = { maxNewTokens: 2, keepSpecialTokens: false };

export const modelJudgeStage: StageImplementation<'filter'> = {
  reset: rulesFilterStage.reset,
  plan: rulesFilterStage.plan,
  async finalize(ctx) {
    const result = await rulesFilterStage.finalize(ctx);
    const failed = await ctx.db.verdict.groupBy({ by: ['reason'], where: { task: { runId: ctx.runId, status: 'OK' }, failed: true }, _count: { _all: true } });
    await failWhenEveryRequestFailed({ what: 'filter', made: result.counts.in, failed: result.counts.failed, reasons: failed.map((r) => ({ reason: r.reason, n: r._count._all })) }, () =>
      ctx.db.verdict.deleteMany({ where: { task: { runId: ctx.runId }, failed: true } }),
    );
    return { ...result, outputs: await judgeLedger(ctx.db, ctx.runId) };
  },

  async shard(ctx, shard) {
    if (!ctx.settings.model) throw failure(ErrorTypes.InvalidRunSpec, 'stages.filter.model: required when judge is "model"');
    const backend = await backendFor(ctx.settings.model, ctx);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    const tasks = await ctx.db.synthTask.findMany({
      where: { runId: ctx.runId, status: 'OK', synId: { gte: lo, lt: hi }, verdict: null },
      select: { id: true, question: true, informative: true, precise: true },
      orderBy: { synId: 'asc' },
    });
    await streamGenerate({
      db: ctx.db,
      backend,
      promptFormat: JUDGE_PROMPT_VERSION,
      decoding: DECODING,
      useCache: ctx.settings.cache,
      batchSize: ctx.settings.batchSize,
      jobs: tasks.map((t) => ({ item: t, request: { prompt: judgePrompt(t.question ?? '', t.informative ?? '', t.precise ?? '') } })),
      // A verdict per task, written as answers arrive. A task the judge's server refused (context
      // overflow) is not kept, and is counted as failed, not as filtered by the judge.
      write: async (outcomes) => {
        await ctx.db.verdict.createMany({
          data: outcomes.map(({ item: t, result: r, error }) => {
            if (!r) return { taskId: t.id, judge: backend.identity, judgeVersion: JUDGE_PROMPT_VERSION, label: 'OTHER' as const, kept: false, failed: true, reason: error };
            const { label, keep } = parseJudgeLabel(r.text);
            return { taskId: t.id, judge: backend.identity, judgeVersion: JUDGE_PROMPT_VERSION, label, raw: r.text, kept: keep, reason: keep ? null : `judge said ${label.toLowerCase()}`, ...callCost(r) };
          }),
          skipDuplicates: true,
        });
      },
      heartbeat: (d) => ctx.heartbeat({ shard, ...d }),
      heartbeatEveryMs: ctx.heartbeatEveryMs,
      signal: ctx.cancelled,
    });
    return { processed: tasks.length };
  },
};
