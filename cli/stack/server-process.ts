// A local inference server (vLLM, llama.cpp's) as the demo and the tests start one: a Python
// process in its own process group (so stop() takes every child it started with it), its last
// output lines kept for error messages, and a start that resolves once GET /v1/models answers, or
// stops the group and says why. vllm-server.ts and tests/helpers/llamacpp-server.ts give it their
// command lines.
import { spawn } from 'node:child_process';

export interface ServerProcessOptions {
  /** in error messages: "vLLM", "llama.cpp server" */
  name: string;
  python: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  /** output lines kept for log() */
  keepLines: number;
  /** until GET /v1/models answers */
  timeoutMs: number;
  /** between polls of GET /v1/models */
  pollMs: number;
  /** how long stop() waits after SIGTERM before SIGKILL */
  termGraceMs: number;
  /** each whole output line, as it arrives */
  onLine?: (line: string) => void;
  /** after the group is gone (its temporary files, say) */
  cleanup?: () => void;
  /** what it was started on, for the error when it exits first */
  serving: string;
}

export interface ServerProcess {
  /** the OpenAI base URL, ending /v1 */
  url: string;
  /** the server's process id, which is also its process group's */
  pid: number;
  /** kills the whole process group and waits until it is gone; safe to call twice */
  stop(): Promise<void>;
  /** the server's last keepLines lines of output (stdout and stderr) */
  log(): string;
}

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

export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(o.python, o.args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: o.env });
  const pid = child.pid!;

  const lines: string[] = [];
  const partial = { out: '', err: '' };
  const collect = (key: 'out' | 'err') => (d: Buffer) => {
    const parts = (partial[key] + d.toString()).split('\n');
    partial[key] = parts.pop()!;
    lines.push(...parts);
    if (o.onLine) for (const l of parts) o.onLine(l);
    if (lines.length > o.keepLines) lines.splice(0, lines.length - o.keepLines);
  };
  child.stdout!.on('data', collect('out'));
  child.stderr!.on('data', collect('err'));
  const log = () => [...lines, partial.out, partial.err].filter((l) => l !== '').join('\n');

  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ? `signal ${signal}` : `code ${code}`;
  });
  // if this process ends without stop(), take the server with it
  const onExit = () => signalGroup(pid, 'SIGKILL');
  process.once('exit', onExit);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      process.removeListener('exit', onExit);
      signalGroup(pid, 'SIGTERM');
      for (const end = Date.now() + o.termGraceMs; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      if (groupAlive(pid)) {
        signalGroup(pid, 'SIGKILL');
        for (const end = Date.now() + 10_000; groupAlive(pid) && Date.now() < end; ) await sleep(100);
      }
      o.cleanup?.();
      if (groupAlive(pid)) throw new Error(`${o.name} process group ${pid} survived SIGKILL`);
    })());

  const url = `http://127.0.0.1:${o.port}/v1`;
  for (const end = Date.now() + o.timeoutMs; ; await sleep(o.pollMs)) {
    if (exited) {
      await stop();
      throw new Error(`${o.name} exited with ${exited} before serving ${o.serving}:\n${log()}`);
    }
    if (Date.now() > end) {
      await stop();
      throw new Error(`${o.name} did not answer GET /v1/models within ${o.timeoutMs} ms:\n${log()}`);
    }
    const ok = await fetch(`${url}/models`, { signal: AbortSignal.timeout(2_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, pid, stop, log };
  }
}
