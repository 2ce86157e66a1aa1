// GPU ownership: which GPUs a worker process owns, how many trainer processes a launch runs, and
// a pool that never hands one GPU to two trainers of the same worker.
import { GpuPool, planLaunch } from '../../activities/trainer/gpus';
import { parseWorkerEnv } from '../../workers/config';
import { ownedGpus } from '../../workers/gpus';

const failureOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return { type: (e as { type?: string }).type, nonRetryable: (e as { nonRetryable?: boolean }).nonRetryable, message: (e as Error).message };
  }
  return null;
};

test('a worker owns ADAMLLM_GPUS, else CUDA_VISIBLE_DEVICES, else what nvidia-smi lists', () => {
  const env = (vars: Record<string, string>) => parseWorkerEnv({ DATABASE_URL: 'postgresql://u@h/db', ...vars });
  const detect = () => ['0', '1', '2', '3'];
  expect(ownedGpus(env({ ADAMLLM_GPUS: '2, 3', CUDA_VISIBLE_DEVICES: '0' }), detect)).toEqual(['2', '3']);
  expect(ownedGpus(env({ ADAMLLM_GPUS: 'none' }), detect)).toEqual([]);
  expect(ownedGpus(env({ CUDA_VISIBLE_DEVICES: 'GPU-6f0c1a2b-aaaa,GPU-77aa' }), detect)).toEqual(['GPU-6f0c1a2b-aaaa', 'GPU-77aa']);
  expect(ownedGpus(env({ CUDA_VISIBLE_DEVICES: '' }), detect)).toEqual([]);
  expect(ownedGpus(env({ CUDA_VISIBLE_DEVICES: '-1' }), detect)).toEqual([]);
  expect(ownedGpus(env({ CUDA_VISIBLE_DEVICES: '1,-1,2' }), detect)).toEqual(['1']);
  expect(ownedGpus(env({}), detect)).toEqual(['0', '1', '2', '3']);
  // CUDA_VISIBLE_DEVICES is read as CUDA reads it; an odd value never stops the worker
  expect(ownedGpus(env({ CUDA_VISIBLE_DEVICES: ' 0, 1 ,' }), detect)).toEqual(['0', '1']);
  expect(ownedGpus(env({ ADAMLLM_GPUS: 'MIG-GPU-6f0c/1/0' }), detect)).toEqual(['MIG-GPU-6f0c/1/0']);
  expect(() => env({ ADAMLLM_GPUS: '0;1' })).toThrow('ADAMLLM_GPUS must be a comma-separated list of GPU ids');
});

test('the launch: one process per owned GPU, one on CPU unless a number asks for gloo processes', () => {
  const four = ['0', '1', '2', '3'];
  expect(planLaunch({ gpus: 'all', device: 'auto' }, four)).toEqual({ worldSize: 4, gpus: 4 });
  expect(planLaunch({ gpus: 2, device: 'auto' }, four)).toEqual({ worldSize: 2, gpus: 2 });
  expect(planLaunch({ gpus: 'all', device: 'auto' }, [])).toEqual({ worldSize: 1, gpus: 0 });
  expect(planLaunch({ gpus: 3, device: 'auto' }, [])).toEqual({ worldSize: 3, gpus: 0 });
  expect(planLaunch({ gpus: 'all', device: 'cpu' }, four)).toEqual({ worldSize: 1, gpus: 0 });
  expect(planLaunch({ gpus: 2, device: 'cpu' }, four)).toEqual({ worldSize: 2, gpus: 0 });
  expect(failureOf(() => planLaunch({ gpus: 8, device: 'auto' }, four))).toEqual({
    type: 'InvalidInput',
    nonRetryable: true,
    message: 'stages.train.gpus: 8 trainer processes requested, but this worker owns 4 GPUs (0,1,2,3)',
  });
  expect(failureOf(() => planLaunch({ gpus: 'all', device: 'cuda' }, []))).toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('owns no GPUs') });
});

test('the pool hands out disjoint GPUs, in arrival order, and forgets a cancelled waiter', async () => {
  const pool = new GpuPool(['0', '1', '2', '3']);
  const a = await pool.acquire(2);
  const b = await pool.acquire(2);
  expect([a.ids, b.ids]).toEqual([
    ['0', '1'],
    ['2', '3'],
  ]);
  const order: string[] = [];
  const all = pool.acquire(4).then((l) => (order.push('all'), l));
  const one = pool.acquire(1).then((l) => (order.push('one'), l));
  const abort = new AbortController();
  const cancelled = pool.acquire(1, abort.signal);
  abort.abort(new Error('stage cancelled'));
  await expect(cancelled).rejects.toThrow('stage cancelled');
  a.release();
  a.release(); // twice is once
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual([]); // the request for all four is first in line: the single one waits behind it
  b.release();
  const whole = await all;
  expect(whole.ids).toEqual(['0', '1', '2', '3']);
  whole.release();
  expect((await one).ids).toEqual(['0']);
  expect(order).toEqual(['all', 'one']);
  expect(pool.available).toBe(3);
  await expect(pool.acquire(5)).rejects.toThrow('5 GPUs requested, the pool has 4');
});
