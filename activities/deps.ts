// What activities close over. The worker passes the real database and store; tests pass their own.
import type { Db } from './db/client';
import type { ArtifactStore } from './store/artifact-store';
import type { GpuPool } from './train/gpus';

export interface ActivityDeps {
  db: Db;
  store: ArtifactStore;
  /** the GPUs this worker process owns (ADAMLLM_GPUS); absent or empty: training runs on CPU */
  gpus?: GpuPool;
}
