// `npm run bench:ingest`: ingest throughput (images/s: decode, check, hash, database write)
// on generated images, beside a plain Pillow loop on the same files. One run, figures and
// ratio printed; nothing is asserted. Needs Postgres (BENCH_POSTGRES_URL, default local).
import '../workers/threads'; // first: sizes libuv's threadpool before anything starts it
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { createDb } from '../activities/db/client';
import { ingestStage } from '../activities/ingest/ingest-stage';
import type { StageContext } from '../activities/stage/context';
import { ArtifactStore } from '../activities/store/artifact-store';
import { createDatabase, dropDatabase, migrate } from '../cli/stack/database';
import { projectRoot } from '../cli/stack/paths';
import { parseRunSpec } from '../core/spec';
import { generateSample } from '../samples/generate';

const COUNT = Number(process.env.BENCH_IMAGES ?? 2000);
/** smallest side of the generated images; 96 (thumbnails) and 512 (photo-like) are reported */
const SIDE = Number(process.env.BENCH_SIDE ?? 512);
const CONCURRENCY = Number(process.env.ADAMLLM_CPU_CONCURRENCY ?? 4);

function pythonWithPillow(): string {
  const venv = path.join(projectRoot(), '.venv', 'bin', 'python');
  const py = fs.existsSync(venv) ? venv : 'python3';
  try {
    execFileSync(py, ['-c', 'import PIL'], { stdio: 'ignore' });
  } catch {
    execFileSync(py, ['-m', 'pip', 'install', '--quiet', 'pillow'], { stdio: 'inherit' });
  }
  return py;
}

async function main(): Promise<void> {
  const dir = path.join(os.tmpdir(), `adamllm-bench-ingest-${COUNT}-${SIDE}`);
  if (!fs.existsSync(path.join(dir, 'annotations.json'))) {
    process.stdout.write(`generating ${COUNT} images of ${SIDE}-${2 * SIDE} px in ${dir}\n`);
    await generateSample({ dir, count: COUNT, seed: 7, side: SIDE });
  }
  const serverUrl = process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `adamllm_bench_${process.pid}`;
  const url = await createDatabase(serverUrl, dbName);
  try {
    await migrate(url);
    const db = createDb(url, CONCURRENCY + 1);
    const spec = parseRunSpec({ version: 1, domain: 'bench', dataset: { format: 'sharegpt', path: path.join(dir, 'annotations.json'), imageRoot: path.join(dir, 'images') } });
    await db.run.create({ data: { id: 'bench', workflowId: 'bench', domain: 'bench', status: 'RUNNING', spec: spec as object, specHash: '-', specVersion: 1 } });
    const ctx: StageContext<'ingest'> = {
      db,
      store: new ArtifactStore(path.join(dir, 'artifacts')),
      runId: 'bench',
      stage: 'ingest',
      attempt: 1,
      spec,
      settings: { ...spec.stages.ingest, shardSize: 64 },
      heartbeat: () => undefined,
      resumeDetails: undefined,
      cancelled: new AbortController().signal,
    };
    const t0 = performance.now();
    const plan = await ingestStage.plan(ctx);
    const t1 = performance.now();
    const limit = pLimit(CONCURRENCY);
    await Promise.all(Array.from({ length: plan.shardCount }, (_, i) => limit(() => ingestStage.shard!(ctx, i, plan.shardCount))));
    const t2 = performance.now();
    const result = await ingestStage.finalize(ctx);
    const t3 = performance.now();
    await db.$disconnect();

    const list = path.join(dir, 'files.txt');
    fs.writeFileSync(list, fs.readdirSync(path.join(dir, 'images')).map((f) => path.join(dir, 'images', f)).join('\n'));
    const py = JSON.parse(execFileSync(pythonWithPillow(), [path.join(__dirname, '..', '..', 'bench', 'ingest_pillow.py'), list], { encoding: 'utf8' }));

    const secs = (t3 - t0) / 1000;
    const report = {
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`,
      images: COUNT,
      imageSides: `${SIDE}-${SIDE + Math.max(1, Math.round(SIDE / 12)) * 11} px`,
      megabytes: +(fs.readdirSync(path.join(dir, 'images')).reduce((n, f) => n + fs.statSync(path.join(dir, 'images', f)).size, 0) / 2 ** 20).toFixed(1),
      adamllm: {
        concurrency: CONCURRENCY,
        seconds: +secs.toFixed(2),
        imagesPerSecond: +(COUNT / secs).toFixed(1),
        phases: { readAnnotations: +((t1 - t0) / 1000).toFixed(2), checkImages: +((t2 - t1) / 1000).toFixed(2), dedupAndNumber: +((t3 - t2) / 1000).toFixed(2) },
        accepted: result.counts.out,
      },
      pillowLoop: { seconds: +py.seconds.toFixed(2), imagesPerSecond: +py.imagesPerSecond.toFixed(1), accepted: py.accepted, note: 'no database writes' },
      ratio: +((COUNT / secs) / py.imagesPerSecond).toFixed(2),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await dropDatabase(serverUrl, dbName);
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
