// Worker configuration: one schema over the environment, parsed once at start, failing
// fast with the variable's name.
import path from 'node:path';
import { z } from 'zod';
import type { ActivityDeps } from '../activities/deps';

const positiveInt = (name: string, dflt: number) =>
  z.coerce.number({ error: `${name} must be a number` }).int(`${name} must be an integer`).min(1, `${name} must be at least 1`).default(dflt);

// "0,1", "GPU-6f0c…", "MIG-…"; empty or "none" for none. Parsed to a list, or undefined when unset.
const gpuList = (name: string) =>
  z
    .string()
    .regex(/^\s*(none|[\w:\/-]+(\s*,\s*[\w:\/-]+)*)?\s*$/, `${name} must be a comma-separated list of GPU ids (0,1 or GPU-… UUIDs), or none`)
    .optional()
    .transform((v) => (v === undefined ? undefined : v.trim() === '' || v.trim() === 'none' ? [] : v.split(',').map((x) => x.trim())));

// the Temporal runtime logger's levels
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

export const ZWorkerEnv = z.object({
  TEMPORAL_ADDRESS: z.string().regex(/^[\w.-]+:\d+$/, 'TEMPORAL_ADDRESS must be host:port').default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  DATABASE_URL: z
    .string({ error: 'DATABASE_URL is required (postgresql://user@host:port/db)' })
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgresql://'),
  DATABASE_POOL_MAX: positiveInt('DATABASE_POOL_MAX', 5),
  ADAMLLM_ARTIFACT_DIR: z.string().min(1).default('.adamllm/artifacts'),
  ADAMLLM_CPU_CONCURRENCY: positiveInt('ADAMLLM_CPU_CONCURRENCY', 8),
  ADAMLLM_GPU_SLOTS: positiveInt('ADAMLLM_GPU_SLOTS', 1),
  // remote-queue shards per process: they hold sockets and a few result rows, not compute; enough
  // that shardSize x shards in flight stays above the endpoints' concurrency (README, Scaling out)
  ADAMLLM_REMOTE_CONCURRENCY: positiveInt('ADAMLLM_REMOTE_CONCURRENCY', 32),
  ADAMLLM_WORKFLOW_CONCURRENCY: positiveInt('ADAMLLM_WORKFLOW_CONCURRENCY', 40),
  ADAMLLM_WORKFLOW_BUNDLE: z.string().min(1).optional().describe('prebuilt workflow bundle (skips bundling at start)'),
  ADAMLLM_GPUS: gpuList('ADAMLLM_GPUS').describe('the GPUs this worker process owns (device ids or UUIDs, as nvidia-smi lists them; none for none); default: CUDA_VISIBLE_DEVICES, else the GPUs nvidia-smi lists'),
  // set but empty counts as unset (scripts/build-models.sh runs setup with ADAMLLM_PYTHON= for the project's venv)
  ADAMLLM_PYTHON: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .describe("the trainer's Python interpreter; default: the project's .venv-models, else python3"),
  ADAMLLM_ONNX_DEVICE: z.string().min(1, 'ADAMLLM_ONNX_DEVICE must name a device (cpu, cuda)').default('cpu').describe('where in-process ONNX models run'),
  // one default for `worker` and `dev`: the CLI prints progress itself, and an operator asks for
  // INFO to see each activity's log lines
  ADAMLLM_LOG_LEVEL: z
    .preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(LOG_LEVELS, { error: `ADAMLLM_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}` }))
    .default('WARN'),
  // not ours to validate: read as CUDA reads it, never a reason to refuse to start
  CUDA_VISIBLE_DEVICES: z
    .string()
    .optional()
    .transform((v) => v?.split(',').map((x) => x.trim()).filter(Boolean)),
});

export type TWorkerEnv = z.infer<typeof ZWorkerEnv>;

export class ConfigError extends Error {}

export function parseWorkerEnv(env: NodeJS.ProcessEnv = process.env): TWorkerEnv {
  const r = ZWorkerEnv.safeParse(env);
  if (!r.success) {
    throw new ConfigError(`invalid configuration: ${r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  return { ...r.data, ADAMLLM_ARTIFACT_DIR: path.resolve(r.data.ADAMLLM_ARTIFACT_DIR) };
}

/** What activities take from the environment (ActivityDeps): the trainer's interpreter, the ONNX device, secrets. */
export function activityDepsOf(env: TWorkerEnv, secrets: (name: string) => string | undefined = envSecrets()): Pick<ActivityDeps, 'python' | 'onnxDevice' | 'secret'> {
  return { python: env.ADAMLLM_PYTHON, onnxDevice: env.ADAMLLM_ONNX_DEVICE, secret: secrets };
}

/**
 * An endpoint's API key, read by the variable name its spec gives (`apiKeyEnv`): the name is
 * data, not a fixed setting, so the schema cannot list it; activities get this reader in their
 * dependencies and never touch the environment themselves.
 */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): (name: string) => string | undefined {
  return (name) => env[name];
}
