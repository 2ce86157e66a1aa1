// What the train stage reads from the trainer's events: a step's TrainStep columns, the examples
// the trainer left out (with reasons), and the failure an exit stands for.
import os from 'node:os';
import { ErrorTypes } from '../../core/errors';
import type { Db } from '../db/client';
import { failure } from '../errors';
import type { TrainerEvent } from './trainer-process';

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Writes a `step` event as the run's TrainStep row (a resumed attempt rewrites the steps after its checkpoint). */
export async function upsertTrainStep(db: Db, runId: string, attempt: number, e: TrainerEvent): Promise<void> {
  const row = { attempt, ...stepRow(e) };
  const key = { runId, step: Number(e.step) };
  await db.trainStep.upsert({ where: { runId_step: key }, create: { ...key, ...row }, update: row });
}

/** A `step` event as TrainStep columns (without the run, step and attempt). */
export function stepRow(e: TrainerEvent) {
  const peak = num(e.peak_memory_bytes);
  return {
    totalSteps: Number(e.total_steps),
    epoch: Number(e.epoch),
    loss: Number(e.loss),
    lr: Number(e.lr),
    gradNorm: num(e.grad_norm),
    tokens: Number(e.tokens),
    labelTokens: Number(e.label_tokens),
    tokensPerS: Number(e.tokens_per_s),
    paddingWaste: num(e.padding_waste),
    peakMemoryBytes: peak === null ? null : BigInt(Math.round(peak)),
    worldSize: num(e.world_size),
  };
}

export interface Filtered {
  reason: string;
  n: number;
}

// what the trainer before `filtered` dropped, and said so only as a count
const LEGACY_REASON = 'longer than maxLength with the image cut';

/** The examples a `data` event says were left out, by reason. */
export function filteredOf(data: { [field: string]: unknown } | null | undefined): Filtered[] {
  if (Array.isArray(data?.filtered)) {
    return (data.filtered as { reason?: unknown; n?: unknown }[]).map((f) => ({ reason: String(f.reason ?? 'unspecified'), n: Number(f.n ?? 0) })).filter((f) => f.n > 0);
  }
  const dropped = Number(data?.dropped ?? 0);
  return dropped > 0 ? [{ reason: LEGACY_REASON, n: dropped }] : [];
}

/**
 * The trainer's exit codes by outcome: the trainer's events.py EXIT_CODES, whose names are also
 * its `error` events' types (runtime, config, export). tests/models/config-drift.test.ts keeps the
 * two maps equal.
 */
export const TRAINER_EXIT = { done: 0, runtime: 1, config: 2, export: 3, stopped: 143 } as const;

/**
 * The trainer's exit code as its own: under torchrun the launcher exits 1 (runtime) whatever a
 * rank exited with, so the `error` event's type (config, export) and a `stopped` event say it.
 */
export function trainerOutcome(code: number | null, events: TrainerEvent[]): number | null {
  const { done, config, export: exported, stopped } = TRAINER_EXIT;
  if (code === done || code === config || code === exported || code === stopped) return code;
  const err = events.filter((e) => e.event === 'error').at(-1);
  if (err?.type === 'config') return config;
  if (err?.type === 'export') return exported;
  if (events.some((e) => e.event === 'stopped')) return stopped;
  return code;
}

function exitText(code: number | null, signal: string | null): string {
  if (signal) return signal;
  // the guard shell reports a launcher killed by signal N as 128 + N
  const name = code !== null && code > 128 ? Object.entries(os.constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return name ? `${name} (code ${code})` : `code ${code}`;
}

export function exitFailure(code: number | null, signal: string | null, events: TrainerEvent[], stderrTail: string) {
  const err = events.filter((e) => e.event === 'error').at(-1);
  const message = err ? String(err.message) : `trainer exited with ${exitText(code, signal)}${stderrTail ? `:\n${stderrTail}` : ''}`;
  const outcome = signal ? null : trainerOutcome(code, events);
  if (outcome === TRAINER_EXIT.config) return failure(ErrorTypes.InvalidInput, `train: ${message}`);
  if (outcome === TRAINER_EXIT.export) return failure(ErrorTypes.ExportMismatch, `train: ${message}`);
  if (outcome === TRAINER_EXIT.stopped) {
    const stopped = events.find((e) => e.event === 'stopped');
    return failure(ErrorTypes.TrainerFailed, `train: the trainer was stopped by SIGTERM at step ${stopped?.step ?? '?'} (checkpoint saved); a retry resumes from it`);
  }
  return failure(ErrorTypes.TrainerFailed, `train: ${message}`);
}
