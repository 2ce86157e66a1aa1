// activities/stage/every-request-failed.ts: when a model stage fails (every request failed) and
// what it says, the most frequent reason first.
import { everyRequestFailed, failWhenEveryRequestFailed } from '../../activities/stage/every-request-failed';

test('only when every request failed, and at least one was made', () => {
  expect(everyRequestFailed({ what: 'synthesize', made: 0, failed: 0, reasons: [] })).toBeUndefined();
  expect(everyRequestFailed({ what: 'synthesize', made: 5, failed: 4, reasons: [{ reason: 'server error: HTTP 500: x', n: 4 }] })).toBeUndefined();
  expect(everyRequestFailed({ what: 'evaluate: VQA_RAD with base', made: 3, failed: 3, reasons: [{ reason: 'a', n: 1 }, { reason: 'b', n: 1 }, { reason: 'b', n: 1 }] })).toBe(
    'evaluate: VQA_RAD with base: all 3 requests failed (b ×2 and 1 other reason); fix the model, its server or the input, then retry the stage: the failed requests are asked again',
  );
  expect(everyRequestFailed({ what: 'filter', made: 2, failed: 2, reasons: [{ reason: null, n: 2 }] })).toContain('(no reason given ×2)');
});

test('the failed rows are forgotten before the stage fails, and only then', async () => {
  const forget = jest.fn(async () => undefined);
  await failWhenEveryRequestFailed({ what: 'filter', made: 2, failed: 1, reasons: [{ reason: 'x', n: 1 }] }, forget);
  expect(forget).not.toHaveBeenCalled();
  await expect(failWhenEveryRequestFailed({ what: 'filter', made: 2, failed: 2, reasons: [{ reason: 'x', n: 2 }] }, forget)).rejects.toMatchObject({ type: 'EveryRequestFailed' });
  expect(forget).toHaveBeenCalledTimes(1);
});
