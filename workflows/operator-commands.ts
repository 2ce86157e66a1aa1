// Operator commands: what an operator sends a run whose stage failed past its activity retries
// and now waits (durably, for days if need be). By name, from the Temporal CLI or any client:
//   retryStage {"stage": …, "settings": {…}?}  a new attempt, the settings patched into the
//                                              stage's and validated first (a bad patch leaves the
//                                              stage waiting, the reason in the progress query)
//   skipStage  {"stage": …}                    the run goes on without the stage (adaptDomain)
//   abort      {"reason": …}?                  cancels what runs and ends the run as "aborted"
// adaptDomain's handling lives here; trainModel takes the same names for its two steps
// (prepare, train) and waits for them in its step loop (train-model.ts).
import { condition, defineSignal, log, setHandler } from '@temporalio/workflow';
import { patchStageSettings, SpecError, type StageName, type TAnyStageSettings } from '../core/spec';
import type { TrainModelStep } from '../core/train-model-spec';
import type { AbortCommand, RetryStageCommand, SkipStageCommand } from '../core/types';
import { stageOf, type OperatorCommand, type RunState } from './run-state';

export const retryStageSignal = defineSignal<[RetryStageCommand]>('retryStage');
export const skipStageSignal = defineSignal<[SkipStageCommand]>('skipStage');
export const abortSignal = defineSignal<[AbortCommand?]>('abort');

/** trainModel's: the same names as adaptDomain's, so operators use one vocabulary; its stages are prepare and train. */
export const retryStepSignal = defineSignal<[{ stage: TrainModelStep; settings?: Record<string, unknown> }]>('retryStage');
export const abortTrainingSignal = defineSignal<[{ reason?: string }?]>('abort');

/** Accepts a retry or skip only for a stage that waits for the operator; returns why not otherwise. */
export function acceptCommand(state: RunState, stage: StageName, cmd: OperatorCommand): string | null {
  const st = state.progress.stages.find((s) => s.name === stage);
  if (!st) return `stage ${stage} is not in this run's pipeline`;
  if (st.status !== 'failed_waiting') return `stage ${stage} is ${st.status}, not failed_waiting`;
  state.commands[stage] = cmd;
  return null;
}

export function retryCommand(cmd: RetryStageCommand): OperatorCommand {
  return { kind: 'retry', settings: cmd.settings };
}

/** adaptDomain's handlers of the three commands; `cancelCurrent` cancels the running stage attempt on abort. */
export function handleOperatorCommands(state: RunState, cancelCurrent: () => void): void {
  setHandler(retryStageSignal, (cmd) => {
    const why = acceptCommand(state, cmd.stage, retryCommand(cmd));
    if (why) log.warn('retryStage ignored', { why });
  });
  setHandler(skipStageSignal, (cmd) => {
    const why = acceptCommand(state, cmd.stage, { kind: 'skip' });
    if (why) log.warn('skipStage ignored', { why });
  });
  setHandler(abortSignal, (cmd) => {
    state.abortRequested = true;
    state.abortReason = cmd?.reason ?? 'aborted by operator';
    cancelCurrent();
  });
}

/** What the operator decided for a failed stage: the settings of the next attempt (patched), skip, or abort. */
export type OperatorDecision = { kind: 'retry'; settings: TAnyStageSettings } | { kind: 'skip' } | { kind: 'abort' };

/**
 * Waits for the operator's command for a stage in failed_waiting. A retry whose patch does not
 * validate is refused (its reason in the stage's lastCommandError) and the wait goes on.
 */
export async function awaitOperator(state: RunState, name: StageName, settings: TAnyStageSettings): Promise<OperatorDecision> {
  const st = stageOf(state, name);
  for (;;) {
    await condition(() => state.abortRequested || state.commands[name] !== undefined);
    if (state.abortRequested) return { kind: 'abort' };
    const cmd = state.commands[name]!;
    delete state.commands[name];
    if (cmd.kind === 'skip') return { kind: 'skip' };
    try {
      const patched = patchStageSettings(name, settings, cmd.settings);
      st.lastCommandError = undefined;
      return { kind: 'retry', settings: patched };
    } catch (e) {
      // A bad patch leaves the stage waiting; the reason shows in the progress query.
      st.lastCommandError = e instanceof SpecError ? e.message : String(e);
    }
  }
}
