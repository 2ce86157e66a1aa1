// Every activity, closed over its dependencies. Workers register the returned object;
// workflows import only its type.
import type { ActivityDeps } from './deps';
import { createRunRecordActivities } from './bookkeeping/run-records';
import { createStageActivities } from './stage/stage-activities';
import { createTrainModelActivities } from './train-model/train-model-activities';
import { defaultStageRegistry, type StageRegistry } from './stage/registry';

export function createActivities(deps: ActivityDeps, registry: StageRegistry = defaultStageRegistry) {
  return {
    ...createRunRecordActivities(deps),
    ...createStageActivities(deps, registry),
    ...createTrainModelActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
