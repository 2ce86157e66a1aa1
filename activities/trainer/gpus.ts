// The GPUs a GPU worker process owns (ADAMLLM_GPUS) and how a train attempt gets them: how many
// trainer processes it runs, on which devices, and a pool that keeps two trainers of one worker
// off the same GPUs.
import { ErrorTypes } from '../../core/errors';
import type { TTrainSettings } from '../../core/spec';
import { failure } from '../errors';

export interface LaunchPlan {
  /** trainer processes: 1 runs the trainer directly, more run it under torchrun */
  worldSize: number;
  /** GPUs to take from the worker's pool: 0 on a CPU run */
  gpus: number;
}

/**
 * What a train attempt runs on this worker. A GPU run needs device cuda, or auto on a worker that
 * owns GPUs; gpus "all" is one process per owned GPU. A CPU run (device cpu, or auto without
 * GPUs) is one process unless gpus names a number: that many gloo processes, which is how the
 * distributed path runs without a GPU.
 */
export function planLaunch(s: Pick<TTrainSettings, 'gpus' | 'device'>, owned: readonly string[]): LaunchPlan {
  const onGpu = s.device === 'cuda' || (s.device === 'auto' && owned.length > 0);
  if (!onGpu) return { worldSize: s.gpus === 'all' ? 1 : s.gpus, gpus: 0 };
  if (owned.length === 0) {
    throw failure(ErrorTypes.InvalidInput, 'stages.train.device: cuda, but this worker owns no GPUs (set ADAMLLM_GPUS or CUDA_VISIBLE_DEVICES on the GPU worker)');
  }
  const n = s.gpus === 'all' ? owned.length : s.gpus;
  if (n > owned.length) {
    throw failure(ErrorTypes.InvalidInput, `stages.train.gpus: ${n} trainer processes requested, but this worker owns ${owned.length} GPU${owned.length === 1 ? '' : 's'} (${owned.join(',')})`);
  }
  return { worldSize: n, gpus: n };
}

export interface GpuLease {
  ids: string[];
  release(): void;
}

/**
 * The worker's GPUs, handed out whole to one trainer at a time. With ADAMLLM_GPU_SLOTS > 1 several
 * train activities can run in one worker process; each takes the GPUs its launch needs from here
 * and waits (first come, first served, heartbeating meanwhile) while another trainer holds them,
 * so two trainers never share a GPU. A trainer with gpus 2 on a 4-GPU worker leaves the other two
 * to a second one. In-process model stages (onnx backend) do not take GPUs from the pool: they
 * run on CPU unless ADAMLLM_ONNX_DEVICE says otherwise.
 */
export class GpuPool {
  private free: string[];
  private readonly waiting: { n: number; grant: (ids: string[]) => void }[] = [];

  constructor(readonly ids: readonly string[]) {
    this.free = [...ids];
  }

  /** n GPUs, once they are free; rejects when `signal` aborts first. */
  acquire(n: number, signal?: AbortSignal): Promise<GpuLease> {
    if (n > this.ids.length) return Promise.reject(new Error(`${n} GPUs requested, the pool has ${this.ids.length}`));
    return new Promise((resolve, reject) => {
      const entry = {
        n,
        grant: (ids: string[]) => {
          signal?.removeEventListener('abort', onAbort);
          let released = false;
          resolve({
            ids,
            release: () => {
              if (released) return;
              released = true;
              this.free.push(...ids);
              this.free.sort((a, b) => this.ids.indexOf(a) - this.ids.indexOf(b));
              this.dispatch();
            },
          });
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        this.dispatch(); // a large request leaving the head may unblock smaller ones
        reject(signal?.reason instanceof Error ? signal.reason : new Error('cancelled while waiting for GPUs'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
      this.dispatch();
    });
  }

  /** GPUs no trainer holds now. */
  get available(): number {
    return this.free.length;
  }

  // Strictly in arrival order: a request for every GPU is not starved by a stream of small ones.
  private dispatch(): void {
    while (this.waiting.length > 0 && this.waiting[0].n <= this.free.length) {
      const next = this.waiting.shift()!;
      next.grant(this.free.splice(0, next.n));
    }
  }
}
