// `npm run bench:serve`: how well the model stages keep an OpenAI-compatible GPU server busy.
// The stack runs as a user runs it (a Temporal dev server, the real Postgres, `adamllm worker` as
// its own process), the server is bench/load-server.ts in this process (a fixed latency per
// request, `cap` requests admitted at once), and one run per scenario goes
// ingest → synthesize (synthesizer "model", llava-llama3 on the openai backend) → filter (judge
// "model", same backend) over generated items.
//
//   (a) latency 2000 ms, cap 256: the server's capacity is cap / latency = 256 / 2 s = 128
//       items/s; each model stage's items/s is reported as a share of it (goal ≥ 90 %).
//   (b) latency 0 (--latency-b): the server costs nothing, so a stage's wall time is the
//       orchestration's own: its items/s is the most this stack drives, and the worker's CPU ms
//       per item what each costs. Overhead = 1 − server busy time ÷ stage wall time (goal ≤ 5 %),
//       busy time being the union of the intervals during which at least one request was
//       admitted, is printed for every scenario; at latency 0 it is near 100 % by construction
//       (a request holds the server ~0.1 ms), so it says something in (a): the share of the stage
//       during which the server had nothing to do.
//
// Stage wall time is the stage attempt row's startedAt → endedAt in Postgres (plan, shards and
// finalize: what a user waits for). Server figures are taken over that same window from the
// server's record of every admitted interval, so no stage boundary has to be guessed while the
// run goes. Temporal events: every execution whose workflow id is the run's or starts with it
// (the run's continue-as-new chain and its shard-batch children `<run>/<stage>/attempt-N/batch-B`).
// Options: --items 10000 --latency 2000 --latency-b 0 --cap 256 --tokens 64 --concurrency 256 --scenario a|b|both
// --max-minutes 180 --keep-db. Results: a table, and JSON under .bench/.
import '../workers/threads'; // first: sizes libuv's threadpool before anything starts it
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Command } from 'commander';
import sharp from 'sharp';
import { createDb, type Db } from '../activities/db/client';
import { createDatabase, dropDatabase, migrate } from '../cli/stack/database';
import { projectRoot } from '../cli/stack/paths';
import { startTemporalDevServer, type TemporalServer } from '../cli/stack/temporal-server';
import { parseRunSpec } from '../core/spec';
import { TASK_QUEUES } from '../core/stages';
import type { RunProgress } from '../core/types';
import { startLoadServer, type LoadServer, type Route } from './load-server';

const opts = new Command()
  .option('--items <n>', 'generated image-caption items', '10000')
  .option('--latency <ms>', 'scenario a: server latency per request', '2000')
  .option('--latency-b <ms>', 'scenario b: server latency per request (0: the server costs nothing)', '0')
  .option('--cap <n>', 'requests the server admits at once (vLLM --max-num-seqs)', '256')
  .option('--tokens <n>', 'completion tokens per synthesizer answer', '64')
  .option('--concurrency <n>', 'the run spec\'s model.concurrency (requests in flight)', '256')
  .option('--scenario <s>', 'a, b or both', 'both')
  .option('--max-minutes <n>', 'abort a run that takes longer (the table then says so)', '180')
  .option('--keep-db', 'keep the benchmark database afterwards')
  .parse()
  .opts<Record<string, string>>();
const num = (k: string) => Number(opts[k]);
const root = projectRoot();
const benchDir = path.join(root, '.bench');
const ms = (d: Date | null | undefined) => d?.getTime() ?? NaN;

/** Tiny distinct PNGs (8×8, the item's index in the pixels) and captions, ShareGPT as ingest reads it; made once. */
async function dataset(items: number): Promise<{ annotations: string; images: string }> {
  const dir = path.join(benchDir, `serve-${items}`);
  const annotations = path.join(dir, 'annotations.json');
  const images = path.join(dir, 'images');
  if (fs.existsSync(path.join(dir, 'complete'))) return { annotations, images };
  process.stdout.write(`generating ${items} items in ${dir}\n`);
  fs.mkdirSync(images, { recursive: true });
  const rows = [];
  for (let i = 0; i < items; i += 64) {
    const batch = Array.from({ length: Math.min(64, items - i) }, (_, k) => i + k);
    await Promise.all(
      batch.map((n) => {
        const px = Buffer.alloc(8 * 8 * 3);
        for (let j = 0; j < px.length; j++) px[j] = ((n >> (8 * (j % 3))) & 0xff) ^ ((j * 37) & 0xff); // distinct per n: no image is deduplicated
        return sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toFile(path.join(images, `${n}.png`));
      }),
    );
    for (const n of batch) {
      rows.push({ images: [`${n}.png`], messages: [{ role: 'user', content: '<image>Describe the image.' }, { role: 'assistant', content: `Test pattern number ${n}: a square of coloured pixels.` }] });
    }
  }
  fs.writeFileSync(annotations, JSON.stringify(rows));
  fs.writeFileSync(path.join(dir, 'complete'), `${items}\n`);
  return { annotations, images };
}

/** A process's CPU seconds and resident memory from /proc (Linux), and the machine's busy CPU seconds. */
function procSample(pid: number): { t: number; cpuS: number; rssMB: number; machineBusyS: number; load1: number } {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const tick = 100; // USER_HZ on Linux
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  return { t: Date.now(), cpuS: (Number(f[11]) + Number(f[12])) / tick, rssMB: (Number(f[21]) * 4096) / 2 ** 20, machineBusyS: (total - idle) / tick, load1: os.loadavg()[0] };
}
type Sample = ReturnType<typeof procSample>;
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
/** The sample nearest before t (the sampler runs every 250 ms). */
const at = (s: Sample[], t: number) => s.reduce((best, x) => (x.t <= t ? x : best), s[0]);

async function startWorker(env: NodeJS.ProcessEnv, log: string): Promise<ChildProcess> {
  // `adamllm worker` with its default queues, as a user starts one (dist, or the source under tsx)
  const fromSource = __filename.endsWith('.ts');
  const args = [...(fromSource ? ['--import', 'tsx'] : []), path.join(__dirname, '..', 'cli', fromSource ? 'main.ts' : 'main.js'), 'worker'];
  const out = fs.openSync(log, 'a');
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', out] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('workers ready') && resolve());
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code} (log: ${log})`)));
  });
  return child;
}

interface StageFigures {
  stage: string;
  items: number;
  wallS: number;
  itemsPerS: number;
  capacityPerS?: number;
  pctOfCapacity?: number;
  serverRequests: number;
  serverMaxConcurrency: number;
  /** requests admitted at the server, averaged over the stage's wall time */
  serverMeanInFlight: number;
  serverBusyS: number;
  /** stage start → first request admitted (plan, child workflow, first shard's reads), and last answer → stage end (the rest of the shard, finalize) */
  firstRequestS?: number;
  afterLastAnswerS?: number;
  overheadPct: number;
  workerCpuPct: number;
  /** the worker process's CPU time per item: how many items/s one core of worker can drive */
  workerCpuMsPerItem: number;
  machineCpuPct: number;
  /** the machine's 1-minute load average, mean over the stage: above the core count, other work competed */
  machineLoad: number;
  workerPeakRssMB: number;
}

async function runScenario(name: 'a' | 'b', latencyMs: number, ctx: { client: Client; db: Db; worker: ChildProcess; data: { annotations: string; images: string } }) {
  const server: LoadServer = await startLoadServer({ latencyMs, cap: num('cap'), tokens: num('tokens') });
  const model = { backend: 'openai', baseUrl: `${server.url}/v1`, model: server.model, concurrency: num('concurrency') };
  const spec = parseRunSpec({
    version: 1,
    domain: 'bench',
    dataset: { format: 'sharegpt', path: ctx.data.annotations, imageRoot: ctx.data.images },
    pipeline: ['ingest', 'synthesize', 'filter'],
    stages: { synthesize: { synthesizer: 'model', promptFormat: 'llava-llama3', model }, filter: { judge: 'model', model } },
  });
  const workflowId = `bench-serve-${name}-${Date.now()}`;
  const samples: Sample[] = [procSample(ctx.worker.pid!)];
  const sampler = setInterval(() => samples.push(procSample(ctx.worker.pid!)), 250);
  const handle = await ctx.client.workflow.start('adaptDomain', { taskQueue: TASK_QUEUES.workflow, workflowId, args: [spec] });
  const deadline = Date.now() + num('maxMinutes') * 60_000;
  let progress: RunProgress | undefined;
  let note = '';
  // once a second: what the server had admitted and waiting (where the batch ran below `cap`)
  const timeline: { s: number; stage?: string; inFlight: number; queued: number; served: number }[] = [];
  const t0 = Date.now();
  try {
    // one long poll for the result, raced against a 1 s tick (a new poll per tick would pile up)
    let finished = false;
    const result = handle.result().finally(() => (finished = true));
    for (let i = 0; ; i++) {
      await Promise.race([result, new Promise((r) => setTimeout(r, 1000))]);
      const done = finished;
      progress = await handle.query<RunProgress>('progress');
      if (done) break;
      if (progress.status === 'waiting' || Date.now() > deadline) {
        note = progress.status === 'waiting' ? `a stage failed: ${JSON.stringify(progress.stages.find((s) => s.error)?.error)}` : `aborted after ${opts.maxMinutes} minutes`;
        await handle.signal('abort', { reason: note });
        await result;
        break;
      }
      const running = progress.stages.find((s) => s.status === 'running');
      const st = server.stats();
      timeline.push({ s: Math.round((Date.now() - t0) / 1000), stage: running?.name, inFlight: st.inFlight, queued: st.queued, served: st.requests });
      if (i % 10 === 0) {
        if (running) process.stdout.write(`  (${name}) ${running.name}: shards ${running.shardsDone}/${running.shardsTotal}, server in flight ${st.inFlight}, queued ${st.queued}, served ${st.requests}\n`);
      }
    }
  } finally {
    clearInterval(sampler);
    samples.push(procSample(ctx.worker.pid!));
  }

  const capacity = latencyMs > 0 ? (1000 * num('cap')) / latencyMs : undefined; // requests (= items) per second the server can answer
  const stages = await ctx.db.stage.findMany({ where: { runId: progress!.runId }, include: { attemptRows: { orderBy: { attempt: 'desc' }, take: 1 } }, orderBy: { position: 'asc' } });
  const figures: StageFigures[] = [];
  for (const s of stages) {
    const a = s.attemptRows[0];
    if (!a) continue;
    const from = ms(a.startedAt);
    const to = Number.isNaN(ms(a.endedAt)) ? Date.now() : ms(a.endedAt);
    const wallS = (to - from) / 1000;
    const route: Route | undefined = s.name === 'synthesize' ? 'chat' : s.name === 'filter' ? 'completions' : undefined;
    const w = server.window(from, to, route);
    const items = s.countIn ?? 0;
    const [s0, s1] = [at(samples, from), at(samples, to)];
    const span = (s1.t - s0.t) / 1000 || 1;
    figures.push({
      stage: s.name,
      items,
      wallS: +wallS.toFixed(2),
      itemsPerS: +(items / wallS).toFixed(1),
      ...(route && capacity ? { capacityPerS: capacity, pctOfCapacity: +((100 * items) / wallS / capacity).toFixed(1) } : {}),
      serverRequests: w.requests,
      serverMaxConcurrency: w.maxConcurrency,
      serverMeanInFlight: +(w.requestMs / 1000 / wallS).toFixed(1),
      serverBusyS: +(w.busyMs / 1000).toFixed(3),
      ...(w.requests ? { firstRequestS: +((w.firstMs - from) / 1000).toFixed(2), afterLastAnswerS: +((to - w.lastMs) / 1000).toFixed(2) } : {}),
      overheadPct: +(100 * (1 - w.busyMs / 1000 / wallS)).toFixed(1),
      workerCpuPct: +((100 * (s1.cpuS - s0.cpuS)) / span).toFixed(0),
      workerCpuMsPerItem: +((1000 * (s1.cpuS - s0.cpuS)) / Math.max(1, items)).toFixed(2),
      machineCpuPct: +((100 * (s1.machineBusyS - s0.machineBusyS)) / span / os.cpus().length).toFixed(0),
      machineLoad: +mean(samples.filter((x) => x.t >= from && x.t <= to).map((x) => x.load1)).toFixed(1),
      workerPeakRssMB: Math.round(Math.max(...samples.filter((x) => x.t >= from && x.t <= to + 250).map((x) => x.rssMB), s1.rssMB)),
    });
  }
  const events = await temporalEvents(ctx.client, workflowId);
  const stats = server.stats();
  await server.close();
  return { scenario: name, latencyMs, cap: num('cap'), tokens: num('tokens'), concurrency: num('concurrency'), workflowId, runId: progress!.runId, status: progress!.status, note, stages: figures, server: stats, events, timeline };
}

interface ShardTiming {
  activities: number;
  /** a shard activity's completion → the next shard's scheduling (the workflow's turn-around), ms */
  refillMeanMs: number;
  refillMaxMs: number;
  /** scheduled → started: how long a shard waited for a worker slot, ms */
  startMeanMs: number;
  startMaxMs: number;
}

/**
 * From a shard-batch child's history: how long the workflow took to schedule a new shard after
 * one completed, and how long scheduled shards waited to start. A shard that starts late leaves
 * the endpoint limiter without queued items once the running shards have sent theirs.
 */
function shardTiming(h: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>): ShardTiming {
  const at = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
  const scheduled = new Map<string, number>();
  const refill: number[] = [];
  const start: number[] = [];
  let lastCompleted: number | undefined;
  for (const e of h.events ?? []) {
    const t = at(e.eventTime);
    if (e.activityTaskScheduledEventAttributes) {
      scheduled.set(String(e.eventId), t);
      if (lastCompleted !== undefined) refill.push(t - lastCompleted);
    } else if (e.activityTaskStartedEventAttributes) {
      start.push(t - (scheduled.get(String(e.activityTaskStartedEventAttributes.scheduledEventId)) ?? t));
    } else if (e.activityTaskCompletedEventAttributes) lastCompleted = t;
  }
  const stat = (xs: number[]) => ({ mean: Math.round(mean(xs) || 0), max: Math.round(Math.max(0, ...xs)) });
  return { activities: scheduled.size, refillMeanMs: stat(refill).mean, refillMaxMs: stat(refill).max, startMeanMs: stat(start).mean, startMaxMs: stat(start).max };
}

/** History lengths of the run's executions (its continue-as-new chain) and of its shard-batch children. */
async function temporalEvents(client: Client, workflowId: string) {
  const run: number[] = [];
  const children: { id: string; events: number; shards: ShardTiming }[] = [];
  // this benchmark's own dev server holds only its runs; visibility lags a moment behind
  await new Promise((r) => setTimeout(r, 1500));
  for await (const w of client.workflow.list()) {
    if (w.workflowId !== workflowId && !w.workflowId.startsWith(`${workflowId}/`)) continue;
    const d = await client.workflow.getHandle(w.workflowId, w.runId).describe();
    if (w.workflowId === workflowId) run.push(d.historyLength);
    else children.push({ id: w.workflowId.slice(workflowId.length + 1), events: d.historyLength, shards: shardTiming(await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()) });
  }
  const childEvents = children.map((c) => c.events);
  return {
    runExecutions: run.length,
    runEvents: run.reduce((a, b) => a + b, 0),
    runMaxEvents: Math.max(0, ...run),
    children: children.length,
    childMaxEvents: Math.max(0, ...childEvents),
    childTotalEvents: childEvents.reduce((a, b) => a + b, 0),
    totalEvents: run.reduce((a, b) => a + b, 0) + childEvents.reduce((a, b) => a + b, 0),
    perChild: children.sort((a, b) => a.id.localeCompare(b.id)),
  };
}

function printTable(results: Awaited<ReturnType<typeof runScenario>>[]) {
  const head = ['scen.', 'stage', 'items', 'wall s', 'items/s', '% cap.', 'srv max in flight', 'srv mean in flight', 'srv busy s', 'first req. s', 'after last s', 'overhead %', 'worker CPU %', 'worker CPU ms/item', 'machine CPU %', 'load', 'worker RSS MB'];
  const rows = results.flatMap((r) =>
    r.stages.map((s) => [r.scenario, s.stage, s.items, s.wallS, s.itemsPerS, s.pctOfCapacity ?? '-', s.serverMaxConcurrency, s.serverMeanInFlight, s.serverBusyS, s.firstRequestS ?? '-', s.afterLastAnswerS ?? '-', s.stage === 'ingest' ? '-' : s.overheadPct, s.workerCpuPct, s.workerCpuMsPerItem, s.machineCpuPct, s.machineLoad, s.workerPeakRssMB].map(String)),
  );
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padStart(width[i])).join('  ')}\n`);
  for (const r of results) {
    const e = r.events;
    process.stdout.write(
      `(${r.scenario}) latency ${r.latencyMs} ms, cap ${r.cap}${r.latencyMs ? ` (capacity ${(1000 * r.cap) / r.latencyMs} items/s)` : ''}: run ${r.status}${r.note ? ` (${r.note})` : ''}; Temporal events: run ${e.runEvents} in ${e.runExecutions} execution(s), ${e.children} children, max ${e.childMaxEvents}, children total ${e.childTotalEvents}, all ${e.totalEvents}\n`,
    );
    for (const c of e.perChild) {
      const t = c.shards;
      process.stdout.write(`    ${c.id}: ${c.events} events, ${t.activities} activities; next shard scheduled ${t.refillMeanMs} ms after a completion (max ${t.refillMaxMs}), started ${t.startMeanMs} ms after scheduling (max ${t.startMaxMs})\n`);
    }
  }
}

async function main() {
  const items = num('items');
  const scenarios = opts.scenario === 'both' ? (['a', 'b'] as const) : ([opts.scenario] as ('a' | 'b')[]);
  if (!scenarios.every((s) => s === 'a' || s === 'b')) throw new Error('--scenario: a, b or both');
  const data = await dataset(items);
  const state = path.join(benchDir, `serve-state-${process.pid}`);
  const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `adamllm_bench_serve_${process.pid}`;
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const temporal: TemporalServer = await startTemporalDevServer({ stateDir: path.join(state, 'temporal') });
    cleanups.push(() => temporal.stop(), async () => fs.rmSync(state, { recursive: true, force: true }));
    const databaseUrl = await createDatabase(serverUrl, dbName);
    if (!opts.keepDb) cleanups.push(() => dropDatabase(serverUrl, dbName));
    await migrate(databaseUrl);
    const worker = await startWorker(
      { TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: databaseUrl, ADAMLLM_ARTIFACT_DIR: path.join(state, 'artifacts'), ADAMLLM_LOG_LEVEL: process.env.ADAMLLM_LOG_LEVEL ?? 'WARN' },
      path.join(benchDir, 'serve-worker.log'),
    );
    cleanups.push(async () => {
      const gone = new Promise((r) => worker.once('exit', r));
      worker.kill('SIGTERM');
      const t = setTimeout(() => worker.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(t);
    });
    const connection = await Connection.connect({ address: temporal.address });
    cleanups.push(() => connection.close());
    const db = createDb(databaseUrl, 2);
    cleanups.push(() => db.$disconnect());
    const client = new Client({ connection });
    const cpu = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`;
    process.stdout.write(`bench:serve on ${cpu}: ${items} items, worker pid ${worker.pid} (log .bench/serve-worker.log)\n`);
    const results = [];
    for (const s of scenarios) results.push(await runScenario(s, s === 'a' ? num('latency') : num('latencyB'), { client, db, worker, data }));
    printTable(results);
    // which code was measured: the commit, and whether the product's sources differed from it
    const git = (...a: string[]) => {
      try {
        return execFileSync('git', a, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return 'unknown (not a git checkout)';
      }
    };
    const code = { commit: git('rev-parse', '--short', 'HEAD'), uncommitted: git('status', '--porcelain', '--', 'activities', 'core', 'workers', 'workflows', 'cli').split('\n').filter(Boolean) };
    const file = path.join(benchDir, `serve-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    fs.writeFileSync(file, JSON.stringify({ machine: cpu, ...code, items, results }, null, 2));
    process.stdout.write(`results: ${path.relative(root, file)}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
