// The embedded dev stack behind `adamllm dev` and `adamllm demo`: Temporal (TEMPORAL_ADDRESS
// or a local dev server), a database (DATABASE_URL or embedded PGlite), migrations, and the
// workers in this process. stop() takes it all down in reverse order.
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { createDb, type Db } from '../../activities/db/client';
import { ALL_QUEUES, createWorkersFromEnv, type QueueName } from '../../workers/create-workers';
import { parseWorkerEnv, type TWorkerEnv } from '../../workers/config';
import { migrate, startEmbeddedPostgres, type Database } from './database';
import { portOpen, startTemporalDevServer, waitForTemporal, type TemporalServer } from './temporal-server';

export interface StackOptions {
  stateDir: string;
  queues?: QueueName[];
  ui?: boolean;
  log?: (line: string) => void;
}

export interface Stack {
  temporalAddress: string;
  uiAddress?: string;
  databaseUrl: string;
  embeddedDatabase: boolean;
  artifactDir: string;
  db: Db;
  stop(): Promise<void>;
}

/** What a running dev stack writes, so `adamllm runs` and `adamllm start` find it. */
export interface StackFile {
  pid: number;
  temporalAddress: string;
  databaseUrl: string;
  artifactDir: string;
}

export const stackFile = (stateDir: string) => path.join(stateDir, 'dev-stack.json');

export function readStackFile(stateDir: string): StackFile | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(stackFile(stateDir), 'utf8')) as StackFile;
    process.kill(s.pid, 0); // throws when that process is gone
    return s;
  } catch {
    return undefined;
  }
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const log = o.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((e) => log(`stop: ${(e as Error).message}`));
  };
  // Validate the whole environment before starting anything; the database URL may come later.
  parseWorkerEnv({ ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? 'postgresql://embedded' });
  try {
    fs.mkdirSync(o.stateDir, { recursive: true });
    let temporal: TemporalServer | undefined;
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    if (temporalAddress) {
      await waitForTemporal(temporalAddress, 15_000);
      log(`temporal: using ${temporalAddress}`);
    } else {
      const port = (await portOpen(7233)) ? undefined : 7233;
      temporal = await startTemporalDevServer({ stateDir: path.join(o.stateDir, 'temporal'), port, ui: o.ui, uiPort: port ? 8233 : undefined });
      stops.push(() => temporal!.stop());
      temporalAddress = temporal.address;
      log(`temporal: dev server at ${temporalAddress}${temporal.uiAddress ? `, web UI ${temporal.uiAddress}` : ''} (state in ${path.join(o.stateDir, 'temporal')})`);
    }

    let database: Database;
    if (process.env.DATABASE_URL) {
      database = { url: process.env.DATABASE_URL, poolMax: 5, embedded: false, stop: async () => undefined };
      log('database: DATABASE_URL');
    } else {
      database = await startEmbeddedPostgres(path.join(o.stateDir, 'pglite'));
      stops.push(() => database.stop());
      log(`database: embedded PGlite at ${database.url} (data in ${path.join(o.stateDir, 'pglite')})`);
    }
    await migrate(database.url);
    const db = createDb(database.url, database.embedded ? database.poolMax : Number(process.env.DATABASE_POOL_MAX ?? database.poolMax));
    stops.push(() => db.$disconnect());

    // The same environment schema as standalone workers, so a bad variable fails here too.
    const env = parseWorkerEnv({ ADAMLLM_ARTIFACT_DIR: path.join(o.stateDir, 'artifacts'), ...process.env, DATABASE_URL: database.url });
    const artifactDir = env.ADAMLLM_ARTIFACT_DIR;
    const queues = o.queues ?? ALL_QUEUES;
    if (queues.length > 0) {
      installRuntimeLogger(env.ADAMLLM_LOG_LEVEL);
      const connection = await NativeConnection.connect({ address: temporalAddress });
      const workers: Worker[] = await createWorkersFromEnv(env, { connection, db, queues });
      const running = Promise.all(workers.map((w) => w.run()));
      stops.push(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        await connection.close();
      });
      log(`workers: ${queues.join(', ')}`);
    }
    const file: StackFile = { pid: process.pid, temporalAddress, databaseUrl: database.url, artifactDir };
    fs.writeFileSync(stackFile(o.stateDir), JSON.stringify(file, null, 2));
    stops.push(async () => fs.rmSync(stackFile(o.stateDir), { force: true }));
    return { temporalAddress, uiAddress: temporal?.uiAddress, databaseUrl: database.url, embeddedDatabase: database.embedded, artifactDir, db, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

let runtimeInstalled = false;

/** Worker logs at ADAMLLM_LOG_LEVEL (WARN unless set, as in `worker`); the CLI prints progress itself. */
function installRuntimeLogger(level: TWorkerEnv['ADAMLLM_LOG_LEVEL']): void {
  if (runtimeInstalled) return;
  // Each queue's worker registers only workflows or only activities; the SDK warns about the
  // half it lacks, which is by design here.
  const byDesign = /^No (activities|workflows) registered/;
  const base = new DefaultLogger(level);
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      if (!byDesign.test(entry.message)) base.log(entry.level, entry.message, entry.meta);
    }),
  });
  runtimeInstalled = true;
}
