// Retry settings from the run spec, as a Temporal retry policy.
import type { RetryPolicy } from '@temporalio/common';

export interface ActivityRetry {
  maximumAttempts: number;
  initialIntervalSeconds: number;
  backoffCoefficient: number;
  maximumIntervalSeconds: number;
}

export function toRetryPolicy(r: ActivityRetry): RetryPolicy {
  return {
    maximumAttempts: r.maximumAttempts,
    initialInterval: `${r.initialIntervalSeconds} seconds`,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: `${r.maximumIntervalSeconds} seconds`,
  };
}
