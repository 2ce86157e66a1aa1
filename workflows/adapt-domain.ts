// adaptDomain: one durable run of the AdaMLLM method over a domain's image-caption pairs.
// It only orchestrates: every side effect is an activity. Start it with
//   temporal workflow start --task-queue adamllm --type adaptDomain --input-file run.json
import {
  ApplicationFailure,
  continueAsNew,
  patched,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorTypes } from '../core/errors';
import { parseRunSpec, SpecError, type TRunSpec } from '../core/spec';
import type { RunProgress } from '../core/types';
import { domainSearchAttribute, progressQuery, shardDoneSignal, statusSearchAttribute } from './definitions';
import { handleOperatorCommands } from './operator-commands';
import { records } from './proxies';
import { stageOf, type InFlightStage, type RunState } from './run-state';
import { runStage, type StageScopes } from './stage-runner';

/** Marks runs that may continue-as-new between two shard batches of a stage (older runs only between stages). */
export const CONTINUE_WITHIN_STAGE_PATCH = 'continue-as-new-within-stage';


/** Carried across continue-as-new; absent on the first execution. */
export interface ResumeState {
  state: RunState;
}

function validSpec(input: unknown): TRunSpec {
  try {
    return parseRunSpec(input);
  } catch (err) {
    if (err instanceof SpecError) {
      throw ApplicationFailure.create({ type: ErrorTypes.InvalidRunSpec, message: err.message, nonRetryable: true });
    }
    throw err;
  }
}

/**
 * Runs the spec's pipeline stage by stage. Fails only on an invalid spec (InvalidRunSpec,
 * non-retryable); a stage that fails past its retries waits for the operator, and an abort
 * ends the run with status "aborted" as a normal result.
 */
export async function adaptDomain(specInput: unknown, resume?: ResumeState): Promise<RunProgress> {
  const spec = validSpec(specInput);
  const info = workflowInfo();
  const state: RunState = resume?.state ?? {
    progress: {
      runId: info.firstExecutionRunId,
      workflowId: info.workflowId,
      domain: spec.domain,
      status: 'running',
      stages: spec.pipeline.map((name) => ({ name, status: 'pending', attempt: 0, shardsDone: 0, shardsTotal: 0 })),
    },
    commands: {},
    abortRequested: false,
    shardsSeen: {},
  };
  const scopes: StageScopes = {};

  setHandler(progressQuery, () => state.progress);
  handleOperatorCommands(state, () => scopes.current?.cancel());
  setHandler(shardDoneSignal, ({ stage, attempt, shard, shards }) => {
    const st = state.progress.stages.find((s) => s.name === stage);
    if (!st || st.attempt !== attempt) return;
    // Shards before the running batch are already counted; a late or repeated report changes nothing.
    const from = state.batchFrom?.[stage] ?? 0;
    const seen = (state.shardsSeen[stage] ??= []);
    for (const s of shards ?? (shard === undefined ? [] : [shard])) if (s >= from && !seen.includes(s)) seen.push(s);
    st.shardsDone = Math.max(st.shardsDone, from + seen.length);
  });

  const setStatus = (status: RunProgress['status']) => {
    state.progress.status = status;
    if (spec.runtime.searchAttributes) upsertSearchAttributes([{ key: statusSearchAttribute, value: status }]);
  };

  if (!resume) {
    await records.startRun({ runId: state.progress.runId, workflowId: info.workflowId, spec });
    if (spec.runtime.searchAttributes) {
      upsertSearchAttributes([
        { key: domainSearchAttribute, value: spec.domain },
        { key: statusSearchAttribute, value: 'running' },
      ]);
    }
  }

  // Between two shard batches: a stage of a million items runs thousands of shards, and even
  // batched progress signals would carry one history past the limit within the stage.
  const checkpoint = async (at: InFlightStage, batchEvents: number) => {
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    // Room for two more batches like the last one, so the limit holds with a margin.
    if (!(continueAsNewSuggested || historyLength + 2 * batchEvents > spec.runtime.maxHistoryEvents)) return;
    if (!patched(CONTINUE_WITHIN_STAGE_PATCH)) return; // a run begun before this: as it did then
    state.inFlight = at;
    await continueAsNew<typeof adaptDomain>(specInput, { state });
  };

  for (const name of spec.pipeline) {
    const st = stageOf(state, name);
    if (st.status === 'succeeded' || st.status === 'skipped') continue;
    setStatus('running');
    const outcome = await runStage(state, spec, name, scopes, setStatus, checkpoint);
    if (outcome === 'aborted') break;
    const { continueAsNewSuggested, historyLength } = workflowInfo();
    if (continueAsNewSuggested || historyLength > spec.runtime.maxHistoryEvents) {
      // Keep histories bounded on long runs: carry the state into a fresh execution.
      await continueAsNew<typeof adaptDomain>(specInput, { state });
    }
  }

  if (state.abortRequested) {
    await records.finishRun({ runId: state.progress.runId, status: 'ABORTED', error: state.abortReason });
    setStatus('aborted');
  } else {
    await records.finishRun({ runId: state.progress.runId, status: 'SUCCEEDED' });
    setStatus('succeeded');
  }
  return state.progress;
}
