// What a run's loss curve says in one line's worth of numbers, for the report and `runs show`.

export interface StepRow {
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerS: number;
}

/** Steps in order → last step, loss at the first and last step, mean tokens/s; null before any step. */
export function trainingStats(steps: readonly StepRow[]) {
  if (steps.length === 0) return null;
  const last = steps[steps.length - 1];
  return {
    step: last.step,
    totalSteps: last.totalSteps,
    firstLoss: steps[0].loss,
    lastLoss: last.loss,
    tokensPerS: steps.reduce((a, t) => a + t.tokensPerS, 0) / steps.length,
  };
}
