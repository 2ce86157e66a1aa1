// Stage name → implementation. The workflow's stage runner is generic; a new stage (train,
// evaluate) registers here and declares its queue in core/stages.ts.
import type { StageName } from '../../core/spec';
import type { StageContext, StageImplementation } from './context';
import { modelJudgeStage } from '../filter/model-judge-stage';
import { modelSynthesizeStage } from '../synthesize/model-stage';
import { ingestStage } from '../ingest/ingest-stage';
import { rulesSynthesizeStage } from '../synthesize/rules-stage';
import { rulesFilterStage } from '../filter/rules-stage';
import { composeStage } from '../compose/compose-stage';
import { exportStage } from '../export/export-stage';
import { evaluateStage } from '../evaluate/evaluate-stage';
import { reportStage } from '../report/report-stage';
import { trainStage } from '../train/train-stage';

export type StageRegistry = { [K in StageName]?: StageImplementation<K> };

/** One stage, several implementations chosen per call by a setting (e.g. rules or model judge). */
function bySetting<K extends StageName>(pick: (ctx: StageContext<K>) => StageImplementation<K>): StageImplementation<K> {
  return {
    reset: (ctx) => pick(ctx).reset?.(ctx) ?? Promise.resolve(),
    plan: (ctx) => pick(ctx).plan(ctx),
    shard: (ctx, shard, n) => pick(ctx).shard!(ctx, shard, n),
    finalize: (ctx) => pick(ctx).finalize(ctx),
  };
}

export const defaultStageRegistry: StageRegistry = {
  ingest: ingestStage,
  synthesize: bySetting<'synthesize'>((ctx) => (ctx.settings.synthesizer === 'model' ? modelSynthesizeStage : rulesSynthesizeStage)),
  filter: bySetting<'filter'>((ctx) => (ctx.settings.judge === 'model' ? modelJudgeStage : rulesFilterStage)),
  compose: composeStage,
  export: exportStage,
  train: trainStage,
  evaluate: evaluateStage,
  report: reportStage,
};
