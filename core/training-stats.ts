// What a run's loss curve says in one line's worth of numbers, for the report and `runs show`.

export interface StepRow {
  step: number;
  totalSteps: number;
  loss: number;
  tokensPerS: number;
  /** fraction of padded positions in the step's micro-batches (trainers since issue 9) */
  paddingWaste?: number | null;
  peakMemoryBytes?: bigint | number | null;
  worldSize?: number | null;
}

/**
 * Steps in order → last step, loss at the first and last step, mean tokens/s, and where the
 * trainer reported them the mean padding waste, the peak memory and the process count; null
 * before any step.
 */
export function trainingStats(steps: readonly StepRow[]) {
  if (steps.length === 0) return null;
  const last = steps[steps.length - 1];
  const waste = steps.map((t) => t.paddingWaste).filter((w): w is number => typeof w === 'number');
  const peaks = steps.map((t) => t.peakMemoryBytes).filter((p) => p !== null && p !== undefined).map(Number);
  const worlds = steps.map((t) => t.worldSize).filter((w): w is number => typeof w === 'number');
  return {
    step: last.step,
    totalSteps: last.totalSteps,
    firstLoss: steps[0].loss,
    lastLoss: last.loss,
    tokensPerS: steps.reduce((a, t) => a + t.tokensPerS, 0) / steps.length,
    paddingWaste: waste.length ? waste.reduce((a, w) => a + w, 0) / waste.length : null,
    peakMemoryBytes: peaks.length ? Math.max(...peaks) : null,
    processes: worlds.length ? Math.max(...worlds) : null,
  };
}

/** ", padding 12.5%, peak memory 3.21 GiB, 4 processes": the parts a trainer reported, for one line of text. */
export function trainingResources(t: NonNullable<ReturnType<typeof trainingStats>>): string {
  const parts: string[] = [];
  if (t.paddingWaste !== null) parts.push(`padding ${(t.paddingWaste * 100).toFixed(1)}%`);
  if (t.peakMemoryBytes !== null) parts.push(`peak memory ${(t.peakMemoryBytes / 2 ** 30).toFixed(2)} GiB`);
  if (t.processes !== null && t.processes > 1) parts.push(`${t.processes} processes`);
  return parts.map((p) => `, ${p}`).join('');
}
