// Activity-side failures carry a type from core/errors; the non-retryable ones fail at once.
import { ApplicationFailure } from '@temporalio/common';
import { nonRetryableErrorTypes, type ErrorType } from '../core/errors';

export function failure(type: ErrorType, message: string, cause?: Error): ApplicationFailure {
  return ApplicationFailure.create({ type, message, nonRetryable: nonRetryableErrorTypes.includes(type), cause });
}
