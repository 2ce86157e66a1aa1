// Project programs run as subprocesses by the tests: TypeScript entry points through tsx, the
// CLI, and `adamllm serve` on a free port.
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { processesWithEnv } from '../../activities/trainer/tagged-processes';
import { freePort } from '../../cli/stack/temporal-server';

const exec = promisify(execFile);
export const ROOT = path.join(__dirname, '..', '..');

/** Runs a TypeScript file of the project (path from the project root) to completion. */
export function runTs(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return exec(process.execPath, ['--import', 'tsx', path.join(ROOT, script), ...args], { cwd: ROOT, env, maxBuffer: 64 * 1024 * 1024 });
}

/** `adamllm <args>`; rejects with the process's stderr on a non-zero exit. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  return runTs('cli/main.ts', args, env);
}

/** Starts `adamllm serve` on a model folder and resolves once it listens. */
export async function startServe(modelDir: string): Promise<{ port: number; baseUrl: string; stop(): void }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'cli', 'main.ts'), 'serve', '--model', modelDir, '--port', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('serving') && resolve());
    child.once('exit', (c) => reject(new Error(`serve exited with ${c}`)));
  });
  return { port, baseUrl: `http://127.0.0.1:${port}/v1`, stop: () => child.kill('SIGKILL') };
}

/** The pids of live processes whose environment holds `NAME=value`: the processes of one trainer launch, whatever became of their parents. */
export function pidsWithEnv(entry: string): number[] {
  return processesWithEnv(entry).map((p) => p.pid);
}

/** Polls until no process has `entry` in its environment; returns those still there after `ms`. */
export async function whenGone(entry: string, ms: number): Promise<number[]> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    if (pidsWithEnv(entry).length === 0) return [];
  }
  return pidsWithEnv(entry);
}
