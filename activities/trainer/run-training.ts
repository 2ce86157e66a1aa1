// One training attempt of the Python trainer, shared by the train stage (adaptDomain) and the
// trainModel workflow's train step: writes the trainer config into its attempt folder, resumes
// from the checkpoint the last heartbeat named, takes the worker's GPUs the launch needs, turns
// the trainer's JSON lines into heartbeats (with the newest checkpoint) and step callbacks,
// sends SIGTERM on cancellation (the trainer checkpoints), and maps the exit to a typed failure.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TTrainSettings } from '../../core/spec';
import { ErrorTypes } from '../../core/errors';
import { failure } from '../errors';
import { planLaunch, type GpuLease, type GpuPool } from './gpus';
import type { TrainerConfig } from './trainer-config';
import { exitFailure, TRAINER_EXIT } from './trainer-events';
import { runTrainer, type TrainerEvent } from './trainer-process';

export interface TrainingAttempt {
  settings: Pick<TTrainSettings, 'gpus' | 'device'>;
  /** the attempt folder (trainingKey); the config's output_dir */
  outputDir: string;
  config: TrainerConfig;
  /** the last heartbeat's details before this retry */
  resumeDetails: unknown;
  heartbeat: (details: unknown) => void;
  cancelled: AbortSignal;
  gpus?: GpuPool;
  /** the trainer's interpreter (ActivityDeps.python) */
  python?: string;
  /** a `step` event; calls are chained, and all have finished when runTraining returns */
  onStep: (e: TrainerEvent) => Promise<void>;
}

export interface TrainingOutcome {
  done: TrainerEvent;
  /** where the successful attempt began (a resumed one names its checkpoint) */
  start?: TrainerEvent;
  /** what the trainer read: examples, and those it left out with their reasons */
  data?: TrainerEvent;
}

/** What a training attempt heartbeats; `checkpoint` is what a retry resumes from. */
export interface TrainingDetails {
  phase: string;
  step?: number;
  totalSteps?: number;
  checkpoint?: string;
  loss?: number;
  worldSize: number;
}

/**
 * Runs the trainer to its `done` event. Throws InvalidInput (a bad setting, TRAINER_EXIT.config),
 * ExportMismatch (TRAINER_EXIT.export) or TrainerFailed (anything else; retried, resuming from the checkpoint).
 */
export async function runTraining(o: TrainingAttempt): Promise<TrainingOutcome> {
  const launch = planLaunch(o.settings, o.gpus?.ids ?? []);
  await fs.mkdir(o.outputDir, { recursive: true });
  const configFile = path.join(o.outputDir, 'trainer-config.json');
  await fs.writeFile(configFile, JSON.stringify(o.config, null, 2));

  // The checkpoint the last heartbeat named, when it is still there and belongs to this
  // folder (a patched retry that changes the run's shape trains in another); else the trainer takes its newest.
  const resume = (o.resumeDetails as { checkpoint?: string } | undefined)?.checkpoint;
  const args = ['train', '--config', configFile];
  if (resume && resume.startsWith(o.outputDir + path.sep) && (await fs.stat(path.join(resume, 'meta.json')).catch(() => null))) args.push('--resume-from', resume);

  let details: TrainingDetails = { phase: 'starting', checkpoint: resume, worldSize: launch.worldSize };
  const ticker = setInterval(() => o.heartbeat(details), 5000); // model loading, export and waiting for GPUs are quiet
  let writes = Promise.resolve();
  let data: TrainerEvent | undefined;
  let lease: GpuLease | undefined;
  try {
    if (launch.gpus > 0) {
      details = { ...details, phase: 'waiting for GPUs' };
      lease = await o.gpus!.acquire(launch.gpus, o.cancelled);
      details = { ...details, phase: 'starting' };
    }
    const r = await runTrainer(args, {
      signal: o.cancelled,
      worldSize: launch.worldSize,
      python: o.python,
      // this attempt's GPUs only; none on a CPU run, so device auto means cpu there
      env: { CUDA_VISIBLE_DEVICES: lease ? lease.ids.join(',') : '', ADAMLLM_PARENT_PID: String(process.pid) },
      onEvent: (e) => {
        if (e.event === 'data') data = e;
        if (e.event === 'start') details = { ...details, phase: 'training', step: Number(e.step), totalSteps: Number(e.total_steps) };
        if (e.event === 'checkpoint') details = { ...details, checkpoint: String(e.path) };
        if (e.event === 'step') {
          details = { ...details, step: Number(e.step), loss: Number(e.loss) };
          writes = writes.then(() => o.onStep(e));
        }
        if (e.event === 'stopped' || e.event === 'done') details = { ...details, phase: e.event };
        if (e.event === 'export') details = { ...details, phase: 'exported' };
        o.heartbeat(details);
      },
    });
    await writes;
    if (o.cancelled.aborted) throw new Error('cancelled');
    if (r.code !== TRAINER_EXIT.done) throw exitFailure(r.code, r.signal, r.events, r.stderrTail);
    const done = r.events.find((e) => e.event === 'done');
    if (!done) throw failure(ErrorTypes.TrainerFailed, 'train: the trainer exited without a done event');
    return { done, start: r.events.find((e) => e.event === 'start'), data };
  } finally {
    clearInterval(ticker);
    lease?.release();
  }
}
