import { ConfigError, parseWorkerEnv } from '../../workers/config';

test('defaults apply and the artifact folder is made absolute', () => {
  const env = parseWorkerEnv({ DATABASE_URL: 'postgresql://u@h:5432/db' });
  expect(env).toMatchObject({ TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_NAMESPACE: 'default', DATABASE_POOL_MAX: 5, ADAMLLM_CPU_CONCURRENCY: 8, ADAMLLM_GPU_SLOTS: 1 });
  expect(env.ADAMLLM_ARTIFACT_DIR.startsWith('/')).toBe(true);
});

test('a bad variable fails fast, naming it', () => {
  const message = (env: NodeJS.ProcessEnv) => {
    try {
      parseWorkerEnv(env);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    return '';
  };
  expect(message({})).toContain('DATABASE_URL is required');
  expect(message({ DATABASE_URL: 'mysql://x' })).toContain('DATABASE_URL must start with postgresql://');
  expect(message({ DATABASE_URL: 'postgresql://x', TEMPORAL_ADDRESS: 'nowhere' })).toContain('TEMPORAL_ADDRESS must be host:port');
  expect(message({ DATABASE_URL: 'postgresql://x', ADAMLLM_GPU_SLOTS: '0' })).toContain('ADAMLLM_GPU_SLOTS must be at least 1');
  expect(message({ DATABASE_URL: 'postgresql://x', ADAMLLM_CPU_CONCURRENCY: 'many' })).toContain('ADAMLLM_CPU_CONCURRENCY');
});
