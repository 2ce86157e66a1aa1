// The trainer as a subprocess: `python -m adamllm_trainer <args>`, or with worldSize > 1
// `python -m torch.distributed.run --standalone --nproc-per-node=N -m adamllm_trainer <args>`.
// Its JSON-line events (rank 0 writes them) stream to a callback; abort sends SIGTERM (the
// trainer checkpoints, then exits 143). The interpreter is the caller's (the worker's
// ADAMLLM_PYTHON, through the activity's dependencies), else the project's .venv-models, else python3.
//
// The launcher runs under a small sh guard in a process group of its own (detached): the guard
// forwards SIGTERM to it, and when the worker dies (even by SIGKILL) the guard's end of a pipe
// from the worker closes and it sends the launcher SIGTERM, so an orphaned trainer checkpoints
// and stops instead of racing the retry on another worker (torchrun's ranks never see their
// grandparent die). Ranks that outlive torchrun are found by their tag (tagged-processes.ts).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../project-root';
import { killTagged, stopTagged, TAG_VAR } from './tagged-processes';

export interface TrainerEvent {
  event: string;
  [field: string]: unknown;
}

export interface TrainerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: TrainerEvent[];
  /** the last lines of stderr (a Python traceback), for the failure message */
  stderrTail: string;
}

/** What onEvent may do to a running trainer: SIGTERM asks for a checkpoint and stop; SIGKILL kills every process of it at once. */
export interface TrainerHandle {
  readonly pid: number | undefined;
  kill(signal?: NodeJS.Signals): boolean;
}

export interface TrainerOptions {
  onEvent?: (e: TrainerEvent, trainer: TrainerHandle) => void;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** trainer processes; > 1 launches torchrun */
  worldSize?: number;
  /** how long ranks left behind by a dead launcher get to checkpoint after SIGTERM */
  orphanGraceMs?: number;
  /** the interpreter (ADAMLLM_PYTHON); default: trainerPython() */
  python?: string;
}

/** The given interpreter (ADAMLLM_PYTHON), else the project's .venv-models, else python3. */
export function trainerPython(python?: string): string {
  if (python) return python;
  const local = path.join(projectRoot(), '.venv-models', 'bin', 'python');
  return fs.existsSync(local) ? local : 'python3';
}

/** The interpreter's arguments for one launch. */
export function trainerArgv(args: string[], worldSize = 1): string[] {
  if (worldSize <= 1) return ['-m', 'adamllm_trainer', ...args];
  return ['-m', 'torch.distributed.run', '--standalone', `--nproc-per-node=${worldSize}`, '-m', 'adamllm_trainer', ...args];
}

// sh -c GUARD guard <command…>. fd 3 is the worker's pipe: nothing is ever written to it, so
// `read` returns only at EOF, when the worker has exited. Signals are forwarded, never the
// guard's own death: it waits for the launcher and exits with its status.
const GUARD = `
exec 3<&0 0</dev/null
"$@" 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
trap 'kill -HUP "$child" 2>/dev/null' HUP
(while read -r _ <&3; do :; done; kill -TERM "$child" 2>/dev/null) &
watch=$!
exec 3<&-
while :; do
  wait "$child"
  code=$?
  kill -0 "$child" 2>/dev/null || break
done
kill "$watch" 2>/dev/null
exit "$code"
`;

// torchrun SIGKILLs ranks this long after forwarding SIGTERM (its default, 30 s, is shorter than
// a large model's checkpoint)
const SHUTDOWN_TIMEOUT_S = 900;

export function runTrainer(args: string[], o: TrainerOptions = {}): Promise<TrainerExit> {
  const tag = randomUUID();
  const python = trainerPython(o.python);
  const child = spawn('/bin/sh', ['-c', GUARD, 'adamllm-trainer', python, ...trainerArgv(args, o.worldSize)], {
    cwd: projectRoot(),
    env: {
      TORCH_ELASTIC_SHUTDOWN_TIMEOUT: String(SHUTDOWN_TIMEOUT_S),
      ...process.env,
      ...o.env,
      PYTHONPATH: path.join(projectRoot(), 'trainer'),
      PYTHONUNBUFFERED: '1',
      TOKENIZERS_PARALLELISM: 'false',
      [TAG_VAR]: tag,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin!.on('error', () => undefined); // never written; EPIPE once the guard is gone is fine
  const handle: TrainerHandle = {
    pid: child.pid,
    kill(sig: NodeJS.Signals = 'SIGTERM') {
      if (sig !== 'SIGKILL') return child.kill(sig);
      // a crash: the guard's whole group, then ranks torchrun started in sessions of their own
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
      killTagged(tag);
      return true;
    },
  };
  const events: TrainerEvent[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    let e: TrainerEvent;
    try {
      e = JSON.parse(line) as TrainerEvent;
    } catch {
      return; // not an event (a stray print from a library)
    }
    events.push(e);
    o.onEvent?.(e, handle);
  });
  const stop = () => handle.kill('SIGTERM');
  o.signal?.addEventListener('abort', stop, { once: true });
  // Ranks share the launcher's stdout: after it exits, their last events (a `stopped`) still arrive.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start the trainer with ${python}: ${err.message}`)));
    child.once('exit', (code, signal) => {
      o.signal?.removeEventListener('abort', stop);
      void (async () => {
        // nothing of this launch may outlive it: a retry would race it for the same folder
        await stopTagged(tag, o.orphanGraceMs ?? SHUTDOWN_TIMEOUT_S * 1000);
        // a process that dropped the tag but holds the pipes must not hold the activity too
        const late = setTimeout(() => (child.stdout!.destroy(), child.stderr!.destroy()), 10_000);
        await closed;
        clearTimeout(late);
        resolve({ code, signal, events, stderrTail: stderr.split('\n').slice(-12).join('\n') });
      })().catch(reject);
    });
  });
}
