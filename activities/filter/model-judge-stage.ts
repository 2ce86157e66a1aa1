// Filter with the consistency judge (method.md §6): a base text LM continues our few-shot
// prompt after "Consistent:" with at most 2 greedy tokens; only exactly "yes" keeps the task.
// Outputs come through the durable cache, so a re-run or a second run costs no model time.
import { JUDGE_PROMPT_VERSION, judgePrompt, parseJudgeLabel } from '../../core/judge/prompt';
import { ErrorTypes } from '../../core/errors';
import { failure } from '../errors';
import { cachedGenerate } from '../models/cached-generate';
import { backendFor } from '../models/backend-for';
import { shardRange, type StageImplementation } from '../stage/context';
import { judgeLedger } from '../stage/counts';
import { rulesFilterStage } from './rules-stage';

const DECODING = { maxNewTokens: 2, keepSpecialTokens: false };

export const modelJudgeStage: StageImplementation<'filter'> = {
  reset: rulesFilterStage.reset,
  plan: rulesFilterStage.plan,
  async finalize(ctx) {
    return { ...(await rulesFilterStage.finalize(ctx)), outputs: await judgeLedger(ctx.db, ctx.runId) };
  },

  async shard(ctx, shard) {
    if (!ctx.settings.model) throw failure(ErrorTypes.InvalidRunSpec, 'stages.filter.model: required when judge is "model"');
    const backend = await backendFor(ctx.settings.model);
    const { lo, hi } = shardRange(shard, ctx.settings.shardSize);
    const tasks = await ctx.db.synthTask.findMany({
      where: { runId: ctx.runId, status: 'OK', synId: { gte: lo, lt: hi }, verdict: null },
      select: { id: true, question: true, informative: true, precise: true },
      orderBy: { synId: 'asc' },
    });
    let done = 0;
    for (let i = 0; i < tasks.length; i += ctx.settings.batchSize) {
      if (ctx.cancelled.aborted) throw new Error('cancelled');
      const batch = tasks.slice(i, i + ctx.settings.batchSize);
      const prompts = batch.map((t) => ({ prompt: judgePrompt(t.question ?? '', t.informative ?? '', t.precise ?? '') }));
      const results = await cachedGenerate(ctx.db, backend, JUDGE_PROMPT_VERSION, prompts, DECODING, ctx.settings.cache);
      await ctx.db.$transaction(
        batch.map((t, j) => {
          const r = results[j];
          const { label, keep } = parseJudgeLabel(r.text);
          const cost = { promptTokens: r.promptTokens, completionTokens: r.completionTokens, modelMs: r.cached ? 0 : r.ms, cached: r.cached };
          return ctx.db.verdict.upsert({
            where: { taskId: t.id },
            create: { taskId: t.id, judge: backend.identity, judgeVersion: JUDGE_PROMPT_VERSION, label, raw: r.text, kept: keep, reason: keep ? null : `judge said ${label.toLowerCase()}`, ...cost },
            update: {},
          });
        }),
      );
      done += batch.length;
      ctx.heartbeat({ shard, done });
    }
    return { processed: tasks.length };
  },
};
