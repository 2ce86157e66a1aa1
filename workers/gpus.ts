// The GPUs a worker process owns: ADAMLLM_GPUS, else the CUDA_VISIBLE_DEVICES it was started
// with, else every GPU nvidia-smi lists (none without nvidia-smi: training then runs on CPU).
// Give each GPU worker process on a machine its own ADAMLLM_GPUS, so two never share a GPU.
import { execFileSync } from 'node:child_process';
import type { TWorkerEnv } from './config';

/** Device indices nvidia-smi lists, or none when it is missing or fails. */
export function detectGpus(): string[] {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return out.split('\n').map((l) => l.trim()).filter((l) => /^\d+$/.test(l));
  } catch {
    return [];
  }
}

// CUDA stops enumerating at the first invalid entry, so "-1" (a common way to hide GPUs) means none.
function cudaVisible(ids: string[]): string[] {
  const stop = ids.findIndex((id) => /^-\d+$/.test(id));
  return stop < 0 ? ids : ids.slice(0, stop);
}

export function ownedGpus(env: Pick<TWorkerEnv, 'ADAMLLM_GPUS' | 'CUDA_VISIBLE_DEVICES'>, detect: () => string[] = detectGpus): string[] {
  if (env.ADAMLLM_GPUS) return env.ADAMLLM_GPUS;
  if (env.CUDA_VISIBLE_DEVICES) return cudaVisible(env.CUDA_VISIBLE_DEVICES);
  return detect();
}
