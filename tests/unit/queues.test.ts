// Which task queue a stage's activities go to: in-process models need a GPU slot, endpoints never do.
import { queueFor } from '../../core/stages';
import { Limiter } from '../../activities/inference/endpoint-limiter';

const openai = { backend: 'openai', baseUrl: 'http://h:8000/v1', model: 'm' };
const onnx = { backend: 'onnx', path: 'models/out/x' };

test('model stages on an endpoint run on the remote queue, in-process ones on the GPU queue', () => {
  expect(queueFor('synthesize', { synthesizer: 'model', model: openai })).toBe('remote');
  expect(queueFor('synthesize', { synthesizer: 'model', model: onnx })).toBe('gpu');
  expect(queueFor('synthesize', { synthesizer: 'rules', model: openai })).toBe('cpu');
  expect(queueFor('filter', { judge: 'model', model: openai })).toBe('remote');
  expect(queueFor('filter', { judge: 'model', model: onnx })).toBe('gpu');
  expect(queueFor('evaluate', { models: [{ model: openai }, { model: { backend: 'trained', baseUrl: 'http://h:8001/v1' } }] })).toBe('remote');
  // one in-process model (or the trained ONNX export) keeps the whole stage on the GPU queue
  expect(queueFor('evaluate', { models: [{ model: openai }, { model: { backend: 'trained' } }] })).toBe('gpu');
  expect(queueFor('evaluate', { models: [{ model: onnx }] })).toBe('gpu');
  expect(queueFor('ingest', {})).toBe('cpu');
});

test('the limiter is FIFO, never passes its bound, lets a raised bound start waiters, and drops abandoned waiters', async () => {
  const l = new Limiter(2);
  const order: number[] = [];
  const gates: (() => void)[] = [];
  const job = (i: number) => l.run(() => new Promise<void>((r) => gates.push(() => (order.push(i), r()))));
  const all = [0, 1, 2, 3].map(job);
  await new Promise((r) => setImmediate(r));
  expect([l.inFlight, l.queued]).toEqual([2, 2]);
  const abandon = new AbortController();
  const gone = l.run(async () => 'never', abandon.signal);
  abandon.abort(new Error('stop'));
  await expect(gone).rejects.toThrow('stop');
  expect(l.queued).toBe(2);
  gates.shift()!();
  await new Promise((r) => setImmediate(r));
  expect(l.inFlight).toBe(2);
  l.limit = 4;
  expect(l.inFlight).toBe(3);
  while (gates.length) gates.shift()!();
  await new Promise((r) => setImmediate(r));
  while (gates.length) gates.shift()!();
  await Promise.all(all);
  expect(order[0]).toBe(0);
  expect(l.peak).toBe(3);
});
