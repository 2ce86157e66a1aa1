// The trainer as a subprocess: `python -m adamllm_trainer train --config <file>`, its JSON-line
// events streamed to a callback, SIGTERM on abort (the trainer checkpoints, then exits 143).
// The interpreter is ADAMLLM_PYTHON, else the project's .venv-models, else python3.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { projectRoot } from '../../cli/stack/paths';

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

export function trainerPython(): string {
  if (process.env.ADAMLLM_PYTHON) return process.env.ADAMLLM_PYTHON;
  const local = path.join(projectRoot(), '.venv-models', 'bin', 'python');
  return fs.existsSync(local) ? local : 'python3';
}

export function runTrainer(args: string[], o: { onEvent?: (e: TrainerEvent, child: ChildProcess) => void; signal?: AbortSignal; env?: NodeJS.ProcessEnv } = {}): Promise<TrainerExit> {
  const child = spawn(trainerPython(), ['-m', 'adamllm_trainer', ...args], {
    cwd: projectRoot(),
    env: { ...process.env, ...o.env, PYTHONPATH: path.join(projectRoot(), 'trainer'), PYTHONUNBUFFERED: '1', TOKENIZERS_PARALLELISM: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
    o.onEvent?.(e, child);
  });
  const stop = () => child.kill('SIGTERM');
  o.signal?.addEventListener('abort', stop, { once: true });
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start the trainer with ${trainerPython()}: ${err.message}`)));
    child.once('close', (code, signal) => {
      o.signal?.removeEventListener('abort', stop);
      resolve({ code, signal, events, stderrTail: stderr.split('\n').slice(-12).join('\n') });
    });
  });
}
