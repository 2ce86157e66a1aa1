// What activities close over. The worker passes the real database and store and the settings it
// parsed from its environment (workers/config.ts); tests pass their own. Activities read no
// environment variable themselves (tests/unit/architecture.test.ts).
import type { Db } from './db/client';
import type { ArtifactStore } from './store/artifact-store';
import type { GpuPool } from './trainer/gpus';

/** How this worker reaches models: in-process ONNX and endpoints. */
export interface ModelAccess {
  /** where in-process ONNX models run (ADAMLLM_ONNX_DEVICE); absent: cpu */
  onnxDevice?: string;
  /** an endpoint's API key by the variable name its spec gives (apiKeyEnv); absent: no key */
  secret?: (name: string) => string | undefined;
}

export interface ActivityDeps extends ModelAccess {
  db: Db;
  store: ArtifactStore;
  /** the GPUs this worker process owns (ADAMLLM_GPUS); absent or empty: training runs on CPU */
  gpus?: GpuPool;
  /** the trainer's Python interpreter (ADAMLLM_PYTHON); absent: the project's .venv-models, else python3 */
  python?: string;
}
