// The cost of a model stage, in one place: what one model call costs as its row stores it
// (synthesis tasks, verdicts, predictions), and the ledger a stage's outputs carry: prompt and
// completion tokens, the model time this run actually spent (cache hits cost none) and how many
// outputs came from the durable cache.
import type { Db } from '../db/client';
import type { CachedResult } from '../inference/generate-stream';

/** The cost fields of one model call, as SynthTask, Verdict and a Prediction's details keep them. */
export interface CallCost {
  promptTokens: number;
  completionTokens: number;
  /** 0 for a cached output: this run spent no model time on it */
  modelMs: number;
  cached: boolean;
}

export function callCost(out: CachedResult): CallCost {
  return { promptTokens: out.promptTokens, completionTokens: out.completionTokens, modelMs: out.cached ? 0 : out.ms, cached: out.cached };
}

export interface ModelLedger {
  promptTokens: number;
  completionTokens: number;
  /** model time actually spent by this run (cache hits cost none) */
  modelSeconds: number;
  cachedOutputs: number;
  [key: string]: number;
}

interface LedgerSums {
  promptTokens: number;
  completionTokens: number;
  modelMs: number;
  cachedOutputs: number;
}

function toLedger(s: LedgerSums): ModelLedger {
  return { promptTokens: s.promptTokens, completionTokens: s.completionTokens, modelSeconds: Math.round(s.modelMs) / 1000, cachedOutputs: s.cachedOutputs };
}

/** A ledger summed call by call, where the costs are read row by row anyway (the evaluate stage's predictions). */
export function ledgerTally() {
  const sums: LedgerSums = { promptTokens: 0, completionTokens: 0, modelMs: 0, cachedOutputs: 0 };
  return {
    add(c: Partial<CallCost>) {
      sums.promptTokens += c.promptTokens ?? 0;
      sums.completionTokens += c.completionTokens ?? 0;
      sums.modelMs += c.modelMs ?? 0;
      if (c.cached) sums.cachedOutputs++;
    },
    ledger: () => toLedger(sums),
  };
}

type TokenSums = { _sum: { promptTokens: number | null; completionTokens: number | null } };

function fromAggregates(all: TokenSums, fresh: { _sum: { modelMs: number | null } }, cachedOutputs: number): ModelLedger {
  return toLedger({ promptTokens: all._sum.promptTokens ?? 0, completionTokens: all._sum.completionTokens ?? 0, modelMs: fresh._sum.modelMs ?? 0, cachedOutputs });
}

/** The ledger of a run's model synthesis, aggregated in the database. */
export async function synthesisLedger(db: Db, runId: string): Promise<ModelLedger> {
  const where = { runId, synthesizer: 'model' };
  const [all, fresh, cached] = await Promise.all([
    db.synthTask.aggregate({ where, _sum: { promptTokens: true, completionTokens: true }, _count: { _all: true } }),
    db.synthTask.aggregate({ where: { ...where, cached: false }, _sum: { modelMs: true } }),
    db.synthTask.count({ where: { ...where, cached: true } }),
  ]);
  return fromAggregates(all, fresh, cached);
}

/** The same for a run's model judgements. */
export async function judgeLedger(db: Db, runId: string): Promise<ModelLedger> {
  const where = { task: { runId }, cached: { not: null } };
  const [all, fresh, cached] = await Promise.all([
    db.verdict.aggregate({ where, _sum: { promptTokens: true, completionTokens: true }, _count: { _all: true } }),
    db.verdict.aggregate({ where: { task: { runId }, cached: false }, _sum: { modelMs: true } }),
    db.verdict.count({ where: { task: { runId }, cached: true } }),
  ]);
  return fromAggregates(all, fresh, cached);
}
