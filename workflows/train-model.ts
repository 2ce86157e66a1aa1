// trainModel: one durable model-training run (the demo world's models: a general base model, the
// method's synthesizer, a consistency judge), in two recorded steps:
//   prepare (CPU queue): the base model (given, or made by init-model and cached), the training file
//   train (GPU queue):   the trainer, ONNX export, the Model row (kind by role, parent = the base)
// trainSynthesizer is the method's step 1 (docs/method.md §5): trainModel with role synthesizer.
//   temporal workflow start --task-queue adamllm --type trainSynthesizer --input-file synth.json
// Only orchestration here. A step that fails past its activity retries waits for the operator
// (retryStage, optionally with train settings; abort), keeping what the steps before it made.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorTypes, nonRetryableErrorTypes } from '../core/errors';
import { TASK_QUEUES } from '../core/stages';
import {
  modelRunDomain,
  parseTrainModelSpec,
  patchTrainSettings,
  TRAIN_MODEL_STEPS,
  TrainModelSpecError,
  type TrainModelAborted,
  type TrainModelProgress,
  type TrainModelResult,
  type TrainModelStep,
  type TrainModelStepProgress,
  type TTrainModelSpec,
} from '../core/train-model-spec';
import type { StageResult } from '../core/types';
import { abortTrainingSignal, retryStepSignal } from './operator-commands';
import { records } from './proxies';
import { toRetryPolicy } from './retry-policy';
import { describeFailure } from './stage-runner';

/** The same name as adaptDomain's progress query; the stages are prepare and train. */
export const trainModelProgressQuery = defineQuery<TrainModelProgress>('progress');

type Outcome = TrainModelResult | TrainModelAborted;

function validSpec(input: unknown): TTrainModelSpec {
  try {
    return parseTrainModelSpec(input);
  } catch (err) {
    if (err instanceof TrainModelSpecError) throw ApplicationFailure.create({ type: ErrorTypes.InvalidRunSpec, message: err.message, nonRetryable: true });
    throw err;
  }
}

/**
 * Trains the model a spec describes (core/train-model-spec.ts) and registers it. Fails only on an
 * invalid spec (InvalidRunSpec, non-retryable); a step that fails past its retries waits for
 * retryStage (a train retry may patch the train settings) or abort, which ends the run with
 * status "aborted" as a normal result. A repeated run with the same spec and data reuses the
 * base model, the training file and the finished training (seconds, no new TrainStep rows).
 */
export async function trainModel(specInput: unknown): Promise<Outcome> {
  let spec = validSpec(specInput);
  const info = workflowInfo();
  const runId = info.firstExecutionRunId;
  const progress: TrainModelProgress = {
    runId,
    workflowId: info.workflowId,
    domain: modelRunDomain(spec.role),
    name: spec.name,
    role: spec.role,
    status: 'running',
    stages: TRAIN_MODEL_STEPS.map((name) => ({ name, status: 'pending', attempt: 0 })),
  };
  const commands: Partial<Record<TrainModelStep, Record<string, unknown> | true>> = {};
  let abortReason: string | undefined;
  let scope: CancellationScope | undefined;

  setHandler(trainModelProgressQuery, () => progress);
  setHandler(retryStepSignal, (cmd) => {
    const st = progress.stages.find((s) => s.name === cmd.stage);
    if (!st || st.status !== 'failed_waiting') return log.warn('retryStage ignored', { stage: cmd.stage, status: st?.status ?? 'no such step' });
    commands[cmd.stage] = cmd.settings ?? true;
  });
  setHandler(abortTrainingSignal, (cmd) => {
    abortReason = cmd?.reason ?? 'aborted by operator';
    scope?.cancel();
  });

  /** One step: attempts recorded in Postgres; past its retries it waits for the operator. */
  async function step<T extends { result: StageResult }>(name: TrainModelStep, settings: () => unknown, run: (attempt: number) => Promise<T>): Promise<T | null> {
    const st = progress.stages.find((s) => s.name === name) as TrainModelStepProgress;
    for (;;) {
      if (abortReason) return null;
      const attempt = st.attempt + 1;
      Object.assign(st, { status: 'running', attempt, error: undefined });
      progress.status = 'running';
      await records.beginStageAttempt({ runId, stage: name, attempt, settings: settings() });
      try {
        scope = new CancellationScope();
        if (abortReason) scope.cancel();
        const out = await scope.run(() => run(attempt));
        await records.completeStageAttempt({ runId, stage: name, attempt, result: out.result });
        Object.assign(st, { status: 'succeeded', counts: out.result.counts, reasons: out.result.reasons, outputs: out.result.outputs });
        return out;
      } catch (err) {
        if (abortReason && isCancellation(err)) {
          await records.failStageAttempt({ runId, stage: name, attempt, message: abortReason, cancelled: true });
          st.status = 'aborted';
          return null;
        }
        const failure = describeFailure(err);
        log.warn('step failed; waiting for the operator', { step: name, attempt, ...failure });
        await records.failStageAttempt({ runId, stage: name, attempt, errorType: failure.type, message: failure.message });
        Object.assign(st, { status: 'failed_waiting', error: failure });
        progress.status = 'waiting';
      } finally {
        scope = undefined;
      }
      for (;;) {
        await condition(() => abortReason !== undefined || commands[name] !== undefined);
        if (abortReason) return null;
        const patch = commands[name];
        delete commands[name];
        try {
          if (patch !== true) {
            if (name !== 'train') throw new TrainModelSpecError(['settings: only the train step takes settings']);
            spec = { ...spec, train: patchTrainSettings(spec.train, patch) };
          }
          st.lastCommandError = undefined;
          break;
        } catch (e) {
          st.lastCommandError = e instanceof Error ? e.message : String(e);
        }
      }
    }
  }

  await records.startModelRun({ runId, workflowId: info.workflowId, spec });
  const prep = proxyActivities<Activities>({
    taskQueue: TASK_QUEUES.cpu,
    startToCloseTimeout: `${spec.prepare.timeoutMinutes} minutes`,
    heartbeatTimeout: '2 minutes',
    retry: { ...toRetryPolicy(spec.prepare.retry), nonRetryableErrorTypes },
  });
  const prepared = await step('prepare', () => ({ base: spec.base, data: spec.data, ...spec.prepare }), () => prep.prepareModelTraining({ runId, spec }));
  const trained =
    prepared &&
    (await step('train', () => spec.train, (attempt) => {
      // the proxy per attempt: a patched retry may change the timeouts and retry policy
      const gpu = proxyActivities<Activities>({
        taskQueue: TASK_QUEUES.gpu,
        startToCloseTimeout: `${spec.train.shardTimeoutMinutes} minutes`,
        heartbeatTimeout: `${spec.train.heartbeatTimeoutSeconds} seconds`,
        retry: { ...toRetryPolicy(spec.train.retry), nonRetryableErrorTypes },
      });
      return gpu.trainPreparedModel({ runId, attempt, spec, prepared: prepared.prepared });
    }));

  if (!trained) {
    const reason = abortReason ?? 'aborted by operator';
    await records.finishRun({ runId, status: 'ABORTED', error: reason });
    progress.status = 'aborted';
    return { status: 'aborted', runId, name: spec.name, role: spec.role, reason };
  }
  await records.finishRun({ runId, status: 'SUCCEEDED' });
  progress.status = 'succeeded';
  return { status: 'succeeded', runId, name: spec.name, role: spec.role, ...trained.model };
}

/**
 * The method's step 1 (docs/method.md §5): a visual instruction synthesizer fine-tuned on general
 * seed tasks by the §5.2 recipe and the §5.3 sequence, registered as a SYNTHESIZER model whose
 * ONNX folder the synthesize stage takes (`{"synthesizer": "model", "model": {"backend": "onnx",
 * "path": <onnx>}}`). trainModel with role synthesizer (the spec may omit role; another role is
 * InvalidRunSpec).
 */
export async function trainSynthesizer(specInput: unknown): Promise<Outcome> {
  const input = (specInput ?? {}) as Record<string, unknown>;
  if (input.role !== undefined && input.role !== 'synthesizer') {
    throw ApplicationFailure.create({ type: ErrorTypes.InvalidRunSpec, message: `invalid model training spec: spec.role: trainSynthesizer trains role synthesizer, not ${JSON.stringify(input.role)} (use trainModel)`, nonRetryable: true });
  }
  return trainModel({ ...input, role: 'synthesizer' });
}
