// A worker in its own Node process (as in production): for killing it mid-stage, and for the
// GPU queue, whose onnxruntime code needs plain Node typed arrays (Jest's sandbox has its own).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { testEnv } from './env';

const children: ChildProcess[] = [];

export function startWorkerProcess(artifactDir: string, queues = 'workflow,cpu,gpu,remote', extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const env = testEnv();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', '..', 'workers', 'main.ts'), queues], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.temporal,
      DATABASE_URL: env.databaseUrl,
      ADAMLLM_ARTIFACT_DIR: artifactDir,
      ADAMLLM_WORKFLOW_BUNDLE: env.bundle,
      ADAMLLM_LOG_LEVEL: 'ERROR',
      ADAMLLM_CPU_CONCURRENCY: '2',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('workers ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
}

export function killWorkerProcesses(): void {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
