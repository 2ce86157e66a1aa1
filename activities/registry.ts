// Stage name → implementation. The workflow's stage runner is generic; a new stage (train,
// evaluate) registers here and declares its queue in core/stages.ts.
import type { StageName } from '../core/spec';
import type { StageImplementation } from './stage/context';
import { ingestStage } from './ingest/ingest-stage';
import { rulesSynthesizeStage } from './synthesize/rules-stage';
import { rulesFilterStage } from './filter/rules-stage';
import { composeStage } from './compose/compose-stage';
import { exportStage } from './export/llama-factory';

export type StageRegistry = { [K in StageName]?: StageImplementation<K> };

export const defaultStageRegistry: StageRegistry = {
  ingest: ingestStage,
  synthesize: rulesSynthesizeStage,
  filter: rulesFilterStage,
  compose: composeStage,
  export: exportStage,
};
