// Retry settings from the run spec, as a Temporal retry policy.
import type { RetryPolicy } from '@temporalio/common';
import type { TRetry } from '../core/spec';

export function toRetryPolicy(r: TRetry): RetryPolicy {
  return {
    maximumAttempts: r.maximumAttempts,
    initialInterval: `${r.initialIntervalSeconds} seconds`,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: `${r.maximumIntervalSeconds} seconds`,
  };
}
