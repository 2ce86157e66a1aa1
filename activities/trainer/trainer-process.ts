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
// grandparent die); ORPHAN_DEADLINE_S later it SIGKILLs whatever of the launch is left. Ranks
// that outlive torchrun are found by their tag (tagged-processes.ts).
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
  /** how long the launch may outlive a dead worker before it is SIGKILLed (default ORPHAN_DEADLINE_S) */
  orphanDeadlineS?: number;
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

// sh -c GUARD guard <deadline> <reaper> <command…>. fd 3 is the worker's pipe: nothing is ever
// written to it, so `read` returns only at EOF, when the worker has exited. Signals are
// forwarded, never the guard's own death: it waits for the launcher and exits with its status.
// At EOF the watcher sends the launcher SIGTERM (torchrun passes it to every rank: each finishes
// its step, checkpoints and exits), then becomes the reaper: a fresh sh without the tag in its
// environment (so it never finds itself or its own grep), ignoring the SIGTERM the guard sends
// its watcher when the launcher exits, that SIGKILLs whatever of the launch is still there
// <deadline> seconds later (ranks stuck in a collective, a launcher waiting out
// TORCH_ELASTIC_SHUTDOWN_TIMEOUT for them) and ends as soon as nothing is left.
const GUARD = `
deadline=$1 reaper=$2
shift 2
exec 3<&0 0</dev/null
"$@" 3<&- &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
trap 'kill -INT "$child" 2>/dev/null' INT
trap 'kill -HUP "$child" 2>/dev/null' HUP
(
  while read -r _ <&3; do :; done
  trap '' TERM
  kill -TERM "$child" 2>/dev/null
  needle="${TAG_VAR}=$${TAG_VAR}"
  unset ${TAG_VAR}
  exec /bin/sh -c "$reaper" adamllm-reaper "$needle" "$deadline" 3<&-
) &
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

// sh -c REAPER reaper <NAME=tag> <seconds>: waits (polling each second) until no process has the
// tag in its environment, or SIGKILLs them all once <seconds> have passed. date counts whole
// seconds, so the end is one more: never early (a CI run saw 1.26 s for 2), up to a second late.
const REAPER = `
end=$(( $(date +%s) + $2 + 1 ))
left() { grep -lsF -e "$1" /proc/[0-9]*/environ | cut -d/ -f3; }
while [ "$(date +%s)" -lt "$end" ]; do
  [ -n "$(left "$1")" ] || exit 0
  sleep 1
done
for p in $(left "$1"); do kill -KILL "$p" 2>/dev/null; done
exit 0
`;

// torchrun SIGKILLs ranks this long after forwarding SIGTERM (its default, 30 s, is shorter than
// a large model's checkpoint). It is the bound on a cancel, while the worker lives on to wait
// for the trainer; a launch whose worker died is bounded by ORPHAN_DEADLINE_S instead.
const SHUTDOWN_TIMEOUT_S = 900;

// How long a launch may outlive its worker (dead, even by SIGKILL) before the guard's reaper
// SIGKILLs every process of it; they are gone within about a second more. The figure:
// - enough for what an orphan does after the guard's SIGTERM: finish its step and write the stop
//   checkpoint. The largest DDP state the README plans for, the 2B model's fp32 trainable weights
//   and AdamW moments (~24 GB) written by rank 0, takes ~25 s at 1 GB/s plus a step of seconds.
//   A larger state (an 8B model under FSDP: 128 GB) is cut short, which is safe: a checkpoint
//   folder appears only by its final rename, so the retry resumes from the previous one and
//   redoes at most saveSteps steps.
// - short enough that the GPUs and the output folder are free before the retry starts: Temporal
//   notices the dead worker one heartbeat timeout after its last recorded heartbeat (the train
//   stage's default 120 s, heartbeats throttled to at most 60 s apart: at least 60 s after the
//   death), so with the default settings no retry on the same machine meets the orphan. Without
//   this bound the ranks lived on for torchrun's whole 900 s shutdown timeout when one of them
//   could not finish its stop (tests/integration/train-stage.test.ts, the killed worker).
export const ORPHAN_DEADLINE_S = 45;

export function runTrainer(args: string[], o: TrainerOptions = {}): Promise<TrainerExit> {
  const tag = randomUUID();
  const python = trainerPython(o.python);
  const child = spawn('/bin/sh', ['-c', GUARD, 'adamllm-trainer', String(o.orphanDeadlineS ?? ORPHAN_DEADLINE_S), REAPER, python, ...trainerArgv(args, o.worldSize)], {
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
