// `npm run bench:scale [-- --items N]`: the default data pipeline (ingest → synthesize (rules)
// → filter (rules) → compose → export) on N generated items (default 1,000,000), through the
// real stack as a user runs it: a Temporal dev server, a fresh database on the Postgres at
// BENCH_POSTGRES_URL (default local), one worker process per queue (`node dist/workers/main.js
// workflow` and `… cpu`, bundling the workflows at start as a user's worker does), and the run
// started from a run spec file with the Temporal CLI. One run; figures printed and written to
// .bench/scale-<N>/result-<time>.json; nothing is asserted.
//
// Measured: wall time and items/s per stage (from the StageAttempt rows), peak RSS of each
// worker process (VmHWM from /proc at the end, at "ready", and the largest VmRSS sampled during
// the run), the largest workflow history in events over every execution of the run (the
// parent's continued-as-new runs and every shard-batch child, fetched with the client), and the
// database's growth per 1,000 items (pg_database_size, and per table).
import '../workers/threads'; // first: sizes libuv's threadpool before anything starts it
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Client as PgClient } from 'pg';
import { createDatabase, dropDatabase, migrate } from '../cli/stack/database';
import { findBinary, projectRoot } from '../cli/stack/paths';
import { startTemporalDevServer } from '../cli/stack/temporal-server';
import { TASK_QUEUES } from '../core/stages';
import type { RunProgress } from '../core/types';
import { scaleDataset } from './scale-data';

const say = (s: string) => process.stdout.write(`${s}\n`);
const mb = (kb: number) => Math.round(kb / 1024);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

interface Mem {
  rssKb: number;
  hwmKb: number;
}

function memOf(pid: number): Mem | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

const TICKS = 100; // USER_HZ: /proc counts CPU time in 1/100 s on Linux

/** CPU seconds (user + system) a process has used so far. */
function cpuOf(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** Processes whose command line contains `needle` (the Temporal server, this database's backends). */
function pidsWith(needle: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Busy CPU seconds of the whole machine: what else ran beside the benchmark shows here. */
function machineBusy(): number {
  const [, ...v] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (v.slice(0, 8).reduce((a, b) => a + b, 0) - v[3] - v[4]) / TICKS;
}

interface WorkerProc {
  queue: string;
  child: ChildProcess;
  readyHwmKb: number;
  maxRssKb: number;
}

function startWorker(queue: string, env: NodeJS.ProcessEnv): Promise<WorkerProc> {
  // BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the workers
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot(), 'dist', 'workers', 'main.js'), queue], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (seen.includes('workers ready')) return;
      seen += d.toString();
      if (seen.includes('workers ready')) resolve({ queue, child, readyHwmKb: memOf(child.pid!)?.hwmKb ?? 0, maxRssKb: 0 });
    });
    child.once('exit', (code) => reject(new Error(`${queue} worker exited with ${code}`)));
  });
}

async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null) return;
  const exited = new Promise((r) => w.child.once('exit', r));
  w.child.kill('SIGTERM');
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** Every execution in the (fresh) namespace: the run's continued-as-new runs and its children. */
async function histories(client: Client, workflowId: string) {
  const names = temporal.api.enums.v1.EventType;
  const all: { workflowId: string; runId: string; events: number; byType: Record<string, number> }[] = [];
  const parentEvents: HistoryEvent[] = [];
  for await (const w of client.workflow.list()) {
    const h = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const byType: Record<string, number> = {};
    for (const e of h.events ?? []) {
      const t = (names[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
      byType[t] = (byType[t] ?? 0) + 1;
    }
    all.push({ workflowId: w.workflowId, runId: w.runId, events: h.events?.length ?? 0, byType });
    if (w.workflowId === workflowId) parentEvents.push(...(h.events ?? []));
  }
  return { all: all.sort((a, b) => b.events - a.events), parentEvents };
}

const at = (e: HistoryEvent) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;

/**
 * Seconds per stage in plan, shard batches (child workflows, back to back) and finalize, from
 * the parent's events: where a stage's time goes, which the attempt rows do not say.
 */
function phases(events: HistoryEvent[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const add = (stage: string, phase: string, ms: number) => ((out[stage] ??= {})[phase] = +(((out[stage]?.[phase] ?? 0) + ms / 1000).toFixed(1)));
  const started = new Map<string, { stage: string; phase: string; t: number }>();
  for (const e of events) {
    const act = e.activityTaskScheduledEventAttributes;
    if (act) {
      const phase = act.activityType?.name ?? '';
      if (['planStage', 'finalizeStage'].includes(phase)) {
        const ref = defaultPayloadConverter.fromPayload<{ stage: string }>(act.input!.payloads![0]);
        started.set(`a${e.eventId}`, { stage: ref.stage, phase: phase.replace('Stage', ''), t: at(e) });
      }
    }
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (child) started.set(`c${e.eventId}`, { stage: child.workflowId!.split('/')[1], phase: 'shards', t: at(e) });
    const done = e.activityTaskCompletedEventAttributes ? `a${e.activityTaskCompletedEventAttributes.scheduledEventId}` : e.childWorkflowExecutionCompletedEventAttributes ? `c${e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId}` : undefined;
    const s = done ? started.get(done) : undefined;
    if (s) add(s.stage, s.phase, at(e) - s.t);
  }
  return out;
}

async function sql<T>(url: string, q: string, params: unknown[] = []): Promise<T[]> {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(q, params)).rows as T[];
  } finally {
    await c.end();
  }
}

const dbSize = async (url: string) => Number((await sql<{ n: string }>(url, 'SELECT pg_database_size(current_database()) AS n'))[0].n);

async function main(): Promise<void> {
  const items = Number(option('--items') ?? 1_000_000);
  if (!Number.isInteger(items) || items < 1) throw new Error('--items must be a positive integer');
  const root = projectRoot();
  const cache = path.join(root, '.bench', `scale-${items}`);
  const ds = await scaleDataset(cache, items, say);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-bench-scale-'));
  const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `adamllm_bench_scale_${process.pid}`;
  const [server, url] = await Promise.all([startTemporalDevServer({ stateDir: path.join(work, 'temporal') }), createDatabase(serverUrl, dbName)]);
  const workers: WorkerProc[] = [];
  // Ctrl-C stops the run and still takes down the workers, the server and the database
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => (interrupted = true));
  try {
    await migrate(url);
    const sizeBefore = await dbSize(url);
    const env = { ...process.env, TEMPORAL_ADDRESS: server.address, DATABASE_URL: url, ADAMLLM_ARTIFACT_DIR: path.join(work, 'artifacts'), ADAMLLM_LOG_LEVEL: 'WARN' };
    for (const q of ['workflow', 'cpu']) workers.push(await startWorker(q, env));
    say(`workers ready (${workers.map((w) => `${w.queue} pid ${w.child.pid}: ${mb(w.readyHwmKb)} MB peak at start`).join(', ')})`);

    const specFile = path.join(work, 'run.json');
    fs.writeFileSync(specFile, JSON.stringify({ version: 1, domain: 'bench', dataset: { format: 'sharegpt', path: ds.annotationFile, imageRoot: ds.imageRoot } }, null, 2));
    const workflowId = `scale-${items}`;
    const temporalPids = pidsWith(path.join(work, 'temporal', 'temporal.db'));
    // This database's backends, sampled every second: a pooled connection that closes during the
    // run (idle between stages) takes its CPU time with it, so the last reading of each counts.
    const backends = new Map<number, number>();
    const pgCpu = () => {
      for (const pid of pidsWith(dbName)) backends.set(pid, cpuOf(pid) || (backends.get(pid) ?? 0));
      return [...backends.values()].reduce((a, b) => a + b, 0);
    };
    const cpuProcs = () => ({
      ...Object.fromEntries(workers.map((w) => [`${w.queue} worker`, cpuOf(w.child.pid!)])),
      'temporal server': temporalPids.reduce((a, p) => a + cpuOf(p), 0),
      postgres: pgCpu(),
      'this bench': cpuOf(process.pid),
      machine: machineBusy(),
    });
    const cpuStart = cpuProcs();
    const t0 = performance.now();
    execFileSync(findBinary('temporal', 'TEMPORAL_CLI'), ['workflow', 'start', '--address', server.address, '--task-queue', TASK_QUEUES.workflow, '--type', 'adaptDomain', '--workflow-id', workflowId, '--input-file', specFile], { stdio: 'ignore' });
    say(`started ${workflowId} (${items} items, default settings)`);

    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const handle = client.workflow.getHandle(workflowId);
    const result = handle.result() as Promise<RunProgress>;
    let done = false;
    void result.finally(() => (done = true)).catch(() => undefined);
    let lastLog = 0;
    while (!done) {
      if (interrupted) throw new Error('interrupted');
      for (const w of workers) w.maxRssKb = Math.max(w.maxRssKb, memOf(w.child.pid!)?.rssKb ?? 0);
      pgCpu();
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        const p = await handle.query<RunProgress>('progress').catch(() => undefined);
        const cur = p?.stages.find((s) => s.status !== 'succeeded' && s.status !== 'skipped');
        const mem = workers.map((w) => `${w.queue} ${mb(memOf(w.child.pid!)?.rssKb ?? 0)} MB`).join(', ');
        say(`  ${((performance.now() - t0) / 60_000).toFixed(1)} min: ${cur ? `${cur.name} ${cur.status} shard ${cur.shardsDone}/${cur.shardsTotal}` : p?.status ?? 'starting'} (RSS ${mem})`);
        if (cur?.status === 'failed_waiting') throw new Error(`stage ${cur.name} failed: ${JSON.stringify(cur.error)}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    const progress = await result;
    const totalSeconds = (performance.now() - t0) / 1000;
    const cpuEnd = cpuProcs();
    const cpu: Record<string, number> = Object.fromEntries(Object.keys(cpuEnd).map((k) => [k, +(cpuEnd[k as keyof typeof cpuEnd] - cpuStart[k as keyof typeof cpuStart]).toFixed(0)]));
    // what ran on the machine beside the benchmark's own processes (other work slows every figure)
    cpu['other processes'] = cpu.machine - Object.entries(cpu).reduce((a, [k, v]) => (k === 'machine' ? a : a + v), 0);
    const peaks = workers.map((w) => ({ queue: w.queue, pid: w.child.pid, peakRssMb: mb(memOf(w.child.pid!)?.hwmKb ?? 0), peakAtReadyMb: mb(w.readyHwmKb), maxSampledRssDuringRunMb: mb(w.maxRssKb) }));

    const attempts = await sql<{ name: string; attempt: number; status: string; startedAt: Date; endedAt: Date; counts: { in: number; out: number } | null }>(
      url,
      `SELECT s.name, a.attempt, a.status, a."startedAt", a."endedAt", a.counts FROM "Stage" s JOIN "StageAttempt" a ON a."stageId" = s.id
       WHERE s."runId" = $1 ORDER BY s.position, a.attempt`,
      [progress.runId],
    );
    const stages = attempts.map((a) => {
      const seconds = (a.endedAt.getTime() - a.startedAt.getTime()) / 1000;
      return { stage: a.name, attempt: a.attempt, status: a.status, seconds: +seconds.toFixed(1), in: a.counts?.in ?? null, out: a.counts?.out ?? null, itemsPerSecond: a.counts ? +(a.counts.in / seconds).toFixed(0) : null };
    });

    const { all: hist, parentEvents } = await histories(client, workflowId);
    await connection.close();
    const sizeAfter = await dbSize(url);
    const tables = await sql<{ table: string; bytes: string }>(url, `SELECT relname AS table, pg_total_relation_size(relid) AS bytes FROM pg_statio_user_tables ORDER BY 2 DESC`);
    const perK = (bytes: number) => +((bytes / (items / 1000)) / 2 ** 20).toFixed(3);

    const report = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
      items,
      runStatus: progress.status,
      counts: Object.fromEntries(progress.stages.map((s) => [s.name, s.counts])),
      // the same items give the same training set: compare across code changes
      trainingSetSha256: progress.stages.find((s) => s.name === 'export')?.outputs?.sha256,
      totalSeconds: +totalSeconds.toFixed(1),
      stages,
      phases: phases(parentEvents),
      cpuSeconds: { ...cpu, note: 'machine = every busy CPU second on the machine during the run; the rest of it is other processes' },
      workers: peaks,
      histories: {
        executions: hist.length,
        largest: hist[0] && { workflowId: hist[0].workflowId, runId: hist[0].runId, events: hist[0].events, byType: hist[0].byType },
        parentRuns: hist.filter((h) => h.workflowId === workflowId).map((h) => h.events),
        largestChild: hist.find((h) => h.workflowId !== workflowId)?.events ?? 0,
      },
      // below a million items: each figure scaled linearly to 1,000,000 (an estimate, not a measurement)
      linearTo1M:
        items < 1_000_000
          ? {
              totalSeconds: +((totalSeconds * 1_000_000) / items).toFixed(0),
              stageSeconds: Object.fromEntries(stages.map((s) => [s.stage, +((s.seconds * 1_000_000) / items).toFixed(0)])),
              postgresMb: +(((sizeAfter - sizeBefore) / 2 ** 20) * (1_000_000 / items)).toFixed(0),
            }
          : undefined,
      postgres: {
        // on-disk growth, dead row versions included (ingest updates each Item after inserting it)
        databaseGrowthMb: +((sizeAfter - sizeBefore) / 2 ** 20).toFixed(1),
        mbPer1kItems: perK(sizeAfter - sizeBefore),
        tablesMbPer1kItems: Object.fromEntries(tables.filter((t) => Number(t.bytes) > 1 << 20).map((t) => [t.table, perK(Number(t.bytes))])),
      },
    };
    const file = path.join(cache, `result-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    say(`\n${items} items, ${progress.status}, ${report.totalSeconds} s in all (${report.machine}); training set sha256 ${report.trainingSetSha256}`);
    for (const s of stages) {
      const p = Object.entries(report.phases[s.stage] ?? {}).map(([k, v]) => `${k} ${v} s`).join(', ');
      say(`  ${s.stage.padEnd(11)} ${String(s.seconds).padStart(8)} s  ${String(s.itemsPerSecond ?? '-').padStart(7)} items/s  in ${s.in} → out ${s.out}${s.attempt > 1 ? ` (attempt ${s.attempt})` : ''}  (${p})`);
    }
    for (const w of peaks) say(`  worker ${w.queue.padEnd(8)} peak RSS ${w.peakRssMb} MB (at ready ${w.peakAtReadyMb} MB, largest sampled during the run ${w.maxSampledRssDuringRunMb} MB)`);
    say(`  largest history: ${report.histories.largest?.events} events (${report.histories.largest?.workflowId}); parent runs ${report.histories.parentRuns.join(', ')}; largest child ${report.histories.largestChild}; ${hist.length} executions`);
    say(`  CPU seconds: ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')} (of ${(os.cpus().length * totalSeconds).toFixed(0)} on ${os.cpus().length} cores)`);
    say(`  Postgres: +${report.postgres.databaseGrowthMb} MB, ${report.postgres.mbPer1kItems} MB per 1k items`);
    if (report.linearTo1M) say(`  linearly to 1,000,000 items (an estimate): ${report.linearTo1M.totalSeconds} s, Postgres ${report.linearTo1M.postgresMb} MB`);
    say(`written ${path.relative(root, file)}`);
  } finally {
    for (const w of workers) await stopWorker(w);
    await server.stop();
    if (process.argv.includes('--keep-db')) say(`database kept: ${url}`);
    else await dropDatabase(serverUrl, dbName);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
