// The activities of the trainModel workflow: prepare (CPU queue) and train (GPU queue). Each
// takes the run's id and its validated spec (a few hundred bytes), reads and writes files in the
// artifact store and rows in Postgres, and returns paths, ids and counts.
import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import { ErrorTypes } from '../../core/errors';
import { parseTrainModelSpec, TrainModelSpecError, type PreparedTraining } from '../../core/train-model-spec';
import type { ActivityDeps } from '../deps';
import { failure } from '../errors';
import { prepareTraining } from './prepare';
import { trainPrepared } from './train';

function hooks() {
  const ctx = Context.current();
  return { heartbeat: (d?: unknown) => ctx.heartbeat(d), resumeDetails: ctx.info.heartbeatDetails, cancelled: ctx.cancellationSignal };
}

/** Cancellation as Temporal's, a spec that no longer validates as InvalidRunSpec. */
async function guarded<T>(cancelled: AbortSignal, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (cancelled.aborted) throw new CancelledFailure('model training activity cancelled');
    if (err instanceof TrainModelSpecError) throw failure(ErrorTypes.InvalidRunSpec, err.message);
    throw err;
  }
}

export function createTrainModelActivities(deps: ActivityDeps) {
  return {
    /**
     * Makes (or finds) the base model and the training file, records the base Model row and the
     * run's artifacts. Idempotent: everything is content-addressed and upserted. Throws
     * InvalidInput for a missing folder or file and for bad rows (naming the row and field).
     */
    async prepareModelTraining(input: { runId: string; spec: unknown }) {
      const h = hooks();
      return guarded(h.cancelled, () => prepareTraining(deps, input.runId, parseTrainModelSpec(input.spec), h));
    },

    /**
     * Trains on the prepared file, exports HF and ONNX, records the Model row (kind by role) and
     * TrainStep rows; a retry resumes from the checkpoint in the last heartbeat, and a finished
     * folder of the same config and data is reused without training. Throws InvalidInput (bad
     * setting), ExportMismatch (ONNX disagrees with PyTorch) or TrainerFailed (retried).
     */
    async trainPreparedModel(input: { runId: string; attempt: number; spec: unknown; prepared: PreparedTraining }) {
      const h = hooks();
      return guarded(h.cancelled, () => trainPrepared(deps, { ...input, spec: parseTrainModelSpec(input.spec) }, h));
    },
  };
}
