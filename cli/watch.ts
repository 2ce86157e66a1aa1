// Follows a run through its progress query and prints what changes, then a summary.
import type { Client } from '@temporalio/client';
import type { RunProgress, StageProgress } from '../core/types';

const fmtCounts = (s: StageProgress) => (s.counts ? `in ${s.counts.in} → out ${s.counts.out}, filtered ${s.counts.filtered}, failed ${s.counts.failed}` : '');

/** One stage as `watch` prints it: name, status, attempt, and counts, error or shards. */
export function stageLine(s: StageProgress): string {
  const shards = s.shardsTotal ? ` shard ${s.shardsDone}/${s.shardsTotal}` : '';
  const tail = s.status === 'succeeded' ? ` ${fmtCounts(s)}` : s.status === 'failed_waiting' ? ` ${s.error?.type ? `[${s.error.type}] ` : ''}${s.error?.message ?? ''}` : shards;
  return `  ${s.name.padEnd(11)} ${s.status.padEnd(15)}${s.attempt > 1 ? ` attempt ${s.attempt}` : ''}${tail}`;
}

export function operatorHints(workflowId: string, stage: string): string {
  return [
    `  the run waits for you. From the Temporal CLI:`,
    `    temporal workflow signal --workflow-id ${workflowId} --name retryStage --input '{"stage":"${stage}"}'`,
    `    temporal workflow signal --workflow-id ${workflowId} --name skipStage --input '{"stage":"${stage}"}'`,
    `    temporal workflow signal --workflow-id ${workflowId} --name abort --input '{"reason":"..."}'`,
  ].join('\n');
}

/**
 * Polls until the workflow closes; prints a line per change. Returns the final progress, or with
 * `stopWhenWaiting` the progress of the moment a stage waits for the operator (the run goes on waiting).
 */
export async function watchRun(client: Client, workflowId: string, print: (s: string) => void, intervalMs = 500, o: { stopWhenWaiting?: boolean } = {}): Promise<RunProgress> {
  const handle = client.workflow.getHandle(workflowId);
  const shown = new Map<string, string>();
  let hinted = '';
  for (;;) {
    const desc = await handle.describe();
    if (desc.status.name !== 'RUNNING') {
      if (desc.status.name === 'CONTINUED_AS_NEW') continue;
      return handle.result() as Promise<RunProgress>;
    }
    let p: RunProgress | undefined;
    try {
      p = await handle.query<RunProgress>('progress');
    } catch {
      p = undefined; // the first workflow task has not run yet
    }
    for (const s of p?.stages ?? []) {
      const line = stageLine(s);
      if (s.status !== 'pending' && shown.get(s.name) !== line) {
        shown.set(s.name, line);
        print(line);
      }
      if (s.status === 'failed_waiting' && hinted !== `${s.name}/${s.attempt}`) {
        hinted = `${s.name}/${s.attempt}`;
        print(operatorHints(workflowId, s.name));
        if (o.stopWhenWaiting && p) return p;
      }
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Exit status of `start --wait` and `watch` when the run waits for the operator (the run goes on waiting). */
export const EXIT_WAITING = 3;

/** 0 for a run that succeeded, EXIT_WAITING for one whose stage waits for the operator, 1 otherwise. */
export function exitCodeOf(p: RunProgress): number {
  if (p.status === 'succeeded') return 0;
  return p.status === 'waiting' || p.stages.some((s) => s.status === 'failed_waiting') ? EXIT_WAITING : 1;
}

export function summary(p: RunProgress): string {
  const lines = [`run ${p.runId} (workflow ${p.workflowId}): ${p.status}`];
  for (const s of p.stages) {
    // a stage that stopped says why, so a summary read alone (a failed demo, a log) needs nothing else
    const why = s.status !== 'succeeded' && s.error ? ` ${s.error.type ? `[${s.error.type}] ` : ''}${s.error.message}` : '';
    lines.push(`  ${s.name.padEnd(11)} ${s.status.padEnd(10)} ${fmtCounts(s)}${why}`);
    const reasons = Object.entries(s.reasons ?? {});
    if (reasons.length) lines.push(`  ${''.padEnd(11)} ${reasons.map(([r, n]) => `${r} ×${n}`).join(', ')}`);
  }
  const exp = p.stages.find((s) => s.name === 'export' && s.outputs);
  if (exp?.outputs) {
    lines.push(`training set: ${exp.outputs.trainingSet} (${exp.outputs.rows} conversations)`);
    lines.push(`LLaMA-Factory: dataset_dir=${exp.outputs.datasetDir}, dataset=${p.domain}`);
  }
  const tr = p.stages.find((s) => s.name === 'train' && s.outputs)?.outputs;
  if (tr) lines.push(`trained: ${tr.model}, ${tr.steps} steps, loss ${Number(tr.firstLoss).toFixed(3)} → ${Number(tr.finalLoss).toFixed(3)}, ${tr.tokensPerS} tokens/s, at ${tr.path}`);
  const ev = p.stages.find((s) => s.name === 'evaluate' && s.outputs)?.outputs;
  // evaluate's outputs hold one "<task> <metric> (<model>)" entry per score, beside its cost ledger
  if (ev) for (const [k, v] of Object.entries(ev)) if (k.endsWith(')')) lines.push(`score: ${k} = ${v}`);
  return lines.join('\n');
}
