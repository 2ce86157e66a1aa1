// Plain-text and JSON views of run history for `adamllm runs`.
import Table from 'cli-table3';
import { trainingResources, trainingStats } from '../../core/training-stats';
import type { RunDetail } from './queries';
import type { listRuns } from './queries';

type RunRow = Awaited<ReturnType<typeof listRuns>>[number];

const dur = (a: Date, b: Date | null) => (b ? `${((b.getTime() - a.getTime()) / 1000).toFixed(1)}s` : '-');
const n = (x: number | null | undefined) => (x === null || x === undefined ? '-' : String(x));

export function formatRunList(rows: RunRow[]): string {
  if (rows.length === 0) return 'no runs yet';
  const t = new Table({ head: ['run id', 'workflow id', 'domain', 'status', 'started', 'took', 'stages done', 'rows out'], style: { head: [], border: [] } });
  for (const r of rows) {
    const done = r.stages.filter((s) => s.status === 'SUCCEEDED').length;
    const last = [...r.stages].reverse().find((s) => s.status === 'SUCCEEDED');
    t.push([r.id, r.workflowId, r.domain, r.status.toLowerCase(), r.startedAt.toISOString().replace('T', ' ').slice(0, 19), dur(r.startedAt, r.endedAt), `${done}/${r.stages.length}`, n(last?.countOut)]);
  }
  return t.toString();
}

function topReasons(reasons: unknown, k = 3): string {
  const entries = Object.entries((reasons ?? {}) as Record<string, number>).sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, k).map(([r, c]) => `${r} ×${c}`);
  if (entries.length > k) shown.push(`+${entries.length - k} more`);
  return shown.join(', ');
}

export function formatRunDetail(r: RunDetail): string {
  const lines = [
    `run ${r.id}  (workflow ${r.workflowId})`,
    `domain ${r.domain}  status ${r.status.toLowerCase()}  spec ${r.specHash.slice(0, 12)}  started ${r.startedAt.toISOString()}  took ${dur(r.startedAt, r.endedAt)}`,
  ];
  if (r.error) lines.push(`error: ${r.error}`);
  for (const d of r.datasets) lines.push(`dataset ${d.name}: ${d.format} ${d.sourcePath} (${n(d.rowCount)} rows), images under ${d.imageRoot}`);
  const t = new Table({ head: ['stage', 'status', 'attempts', 'in', 'out', 'filtered', 'failed', 'shards', 'reasons'], style: { head: [], border: [] } });
  for (const s of r.stages) {
    t.push([s.name, s.status.toLowerCase(), s.attempts, n(s.countIn), n(s.countOut), n(s.countFiltered), n(s.countFailed), s.shardsTotal ? `${n(s.shardsDone)}/${s.shardsTotal}` : '-', topReasons(s.reasons)]);
  }
  lines.push(t.toString());
  const failures = r.stages.flatMap((s) => s.attemptRows.filter((a) => a.error).map((a) => `  ${s.name} attempt ${a.attempt} ${a.status.toLowerCase()}: ${a.errorType ? `[${a.errorType}] ` : ''}${a.error}`));
  if (failures.length) lines.push('failed attempts:', ...failures);
  const training = trainingSummary(r);
  if (training) lines.push(`training: ${training}`);
  const model = trainedModelLine(r);
  if (model) lines.push(model);
  if (r.metrics.length) {
    lines.push('metrics:');
    for (const m of r.metrics) lines.push(`  ${m.task} ${m.key}: ${m.value === null ? '–' : m.value.toFixed(2)}  (${m.model.name}, ${m.model.kind.toLowerCase()}, ${m.testNum} rows)`);
  }
  if (r.artifacts.length) {
    lines.push('artifacts:');
    for (const a of r.artifacts) lines.push(`  ${a.stage}/${a.kind}: ${a.uri} (${a.bytes} bytes, sha256 ${a.sha256.slice(0, 12)})`);
  }
  return lines.join('\n');
}

/** A model-training run's model (trainModel: domain model:<role>), also when it reused a finished training and trained nothing itself. */
function trainedModelLine(r: RunDetail): string | null {
  if (!r.domain.startsWith('model:')) return null;
  const o = r.stages.find((s) => s.name === 'train')?.outputs as { model?: string; modelId?: string; onnx?: string; hf?: string; steps?: number; finalLoss?: number; reused?: number } | null | undefined;
  if (!o?.modelId) return null;
  const how = o.reused ? `reused a finished training (${o.steps} steps, final loss ${Number(o.finalLoss).toFixed(4)})` : `${o.steps} steps, final loss ${Number(o.finalLoss).toFixed(4)}`;
  return `model: ${o.model} (${r.domain.slice('model:'.length)}, id ${o.modelId}), ${how}\n  onnx: ${o.onnx ?? '-'}\n  hf:   ${o.hf}`;
}

/** One line on a run's training: steps, loss from first to last step, speed, the model made. */
export function trainingSummary(r: RunDetail): string | null {
  const t = trainingStats(r.trainSteps);
  if (!t) return null;
  const m = r.models[0];
  const model = m ? `; ${m.name} (${m.format}, from ${m.parent?.name ?? '?'}) at ${m.uri}` : '';
  return `step ${t.step}/${t.totalSteps}, loss ${t.firstLoss.toFixed(4)} → ${t.lastLoss.toFixed(4)}, ${t.tokensPerS.toFixed(0)} tokens/s${trainingResources(t)}${model}`;
}

/** Paths where two specs differ, as `path: a → b`. */
export function specDiff(a: unknown, b: unknown, prefix = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a as object), ...Object.keys(b as object)])].sort();
    return keys.flatMap((k) => specDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
  }
  return [`${prefix}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`];
}

export function compareRuns(a: RunDetail, b: RunDetail) {
  const names = [...new Set([...a.stages.map((s) => s.name), ...b.stages.map((s) => s.name)])];
  const stage = (r: RunDetail, name: string) => r.stages.find((s) => s.name === name);
  const stages = names.map((name) => {
    const sa = stage(a, name);
    const sb = stage(b, name);
    const pick = (s: typeof sa) => (s ? { status: s.status.toLowerCase(), in: s.countIn, out: s.countOut, filtered: s.countFiltered, failed: s.countFailed } : null);
    return { stage: name, a: pick(sa), b: pick(sb) };
  });
  // Scores side by side, matched by task, metric and model kind (base with base, adapted with adapted).
  const key = (m: RunDetail['metrics'][number]) => `${m.task}\u0000${m.key}\u0000${m.model.kind}`;
  const keys = [...new Set([...a.metrics.map(key), ...b.metrics.map(key)])].sort();
  const metrics = keys.map((k) => {
    const ma = a.metrics.find((m) => key(m) === k);
    const mb = b.metrics.find((m) => key(m) === k);
    const [task, metric, kind] = k.split('\u0000');
    const va = ma?.value ?? null;
    const vb = mb?.value ?? null;
    return { task, metric, kind: kind.toLowerCase(), a: va, b: vb, aModel: ma?.model.name ?? null, bModel: mb?.model.name ?? null, delta: va !== null && vb !== null ? vb - va : null };
  });
  const final = (r: RunDetail) => r.trainSteps.at(-1)?.loss ?? null;
  return {
    a: { id: a.id, workflowId: a.workflowId, status: a.status.toLowerCase() },
    b: { id: b.id, workflowId: b.workflowId, status: b.status.toLowerCase() },
    specDiff: specDiff(a.spec, b.spec),
    stages,
    metrics,
    training: { a: trainingSummary(a), b: trainingSummary(b), finalLoss: { a: final(a), b: final(b) } },
  };
}

export function formatComparison(c: ReturnType<typeof compareRuns>): string {
  const t = new Table({ head: ['stage', 'a status', 'b status', 'a out', 'b out', 'Δ out', 'a filtered+failed', 'b filtered+failed'], style: { head: [], border: [] } });
  for (const s of c.stages) {
    const lost = (x: typeof s.a) => (x && x.filtered !== null && x.failed !== null ? String((x.filtered ?? 0) + (x.failed ?? 0)) : '-');
    const delta = s.a?.out != null && s.b?.out != null ? s.b.out - s.a.out : null;
    t.push([s.stage, s.a?.status ?? '-', s.b?.status ?? '-', n(s.a?.out), n(s.b?.out), delta === null ? '-' : delta > 0 ? `+${delta}` : String(delta), lost(s.a), lost(s.b)]);
  }
  const diff = c.specDiff.length ? c.specDiff.map((d) => `  ${d}`).join('\n') : '  (identical specs)';
  const out = [`a: ${c.a.id} (${c.a.workflowId}, ${c.a.status})`, `b: ${c.b.id} (${c.b.workflowId}, ${c.b.status})`, t.toString()];
  if (c.training.a || c.training.b) out.push(`training a: ${c.training.a ?? '-'}`, `training b: ${c.training.b ?? '-'}`);
  if (c.metrics.length) {
    const f = (v: number | null) => (v === null ? '-' : v.toFixed(2));
    const mt = new Table({ head: ['task', 'metric', 'model kind', 'a', 'b', 'Δ'], style: { head: [], border: [] } });
    for (const m of c.metrics) mt.push([m.task, m.metric, m.kind, `${f(m.a)}${m.aModel ? ` (${m.aModel})` : ''}`, `${f(m.b)}${m.bModel ? ` (${m.bModel})` : ''}`, m.delta === null ? '-' : `${m.delta >= 0 ? '+' : ''}${m.delta.toFixed(2)}`]);
    out.push(mt.toString());
  }
  out.push(`spec differences:\n${diff}`);
  return out.join('\n');
}
