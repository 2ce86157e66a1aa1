// A model stage in which every request failed did not run the method: the server refused every
// request (a dead engine answers each with the same 500), or the model cannot run. Passed on as a
// success with nothing in it, the run would stop stages later at an empty training set, or
// report a score of 0 for a model that never answered. So the stage fails, naming the most
// frequent reason, and waits for the operator; the failed rows are forgotten first (they hold
// only the error), so that retryStage, once the server is fixed, asks those requests again.
import { ErrorTypes } from '../../core/errors';
import { failure } from '../errors';

export interface RequestTally {
  /** what asked: "synthesize", "evaluate: VQA_RAD with world-base" */
  what: string;
  /** requests the stage made */
  made: number;
  failed: number;
  /** the failed requests' reasons, with counts */
  reasons: { reason: string | null; n: number }[];
}

/** The error message when every request failed (undefined when some answered, or none was made). */
export function everyRequestFailed(t: RequestTally): string | undefined {
  if (t.made === 0 || t.failed < t.made) return undefined;
  const merged = new Map<string, number>();
  for (const r of t.reasons) merged.set(r.reason ?? 'no reason given', (merged.get(r.reason ?? 'no reason given') ?? 0) + r.n);
  const [top, n] = [...merged].sort((a, b) => b[1] - a[1])[0] ?? ['no reason given', t.failed];
  const others = merged.size > 1 ? ` and ${merged.size - 1} other reason${merged.size > 2 ? 's' : ''}` : '';
  return `${t.what}: all ${t.made} requests failed (${top} ×${n}${others}); fix the model, its server or the input, then retry the stage: the failed requests are asked again`;
}

/** Throws EveryRequestFailed, after `forget` drops the failed rows, when every request failed. */
export async function failWhenEveryRequestFailed(t: RequestTally, forget: () => Promise<unknown>): Promise<void> {
  const message = everyRequestFailed(t);
  if (!message) return;
  await forget();
  throw failure(ErrorTypes.EveryRequestFailed, message);
}
