// How CLI commands find Temporal and the database: the environment first, then a running
// `adamllm dev` stack, then (database only) the embedded PGlite data folder opened here.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDb, type Db } from '../activities/db/client';
import { startEmbeddedPostgres } from './stack/database';
import { readStackFile } from './stack/dev-stack';

export const DEFAULT_STATE_DIR = process.env.ADAMLLM_STATE_DIR ?? '.adamllm';

export async function openDb(stateDir = DEFAULT_STATE_DIR): Promise<{ db: Db; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL ?? readStackFile(stateDir)?.databaseUrl;
  if (url) {
    const db = createDb(url, 2);
    return { db, close: () => db.$disconnect() };
  }
  const dataDir = path.join(stateDir, 'pglite');
  if (!fs.existsSync(dataDir)) throw new Error(`no database: set DATABASE_URL, or run \`adamllm dev\` / \`adamllm demo\` first (no ${dataDir})`);
  const pg = await startEmbeddedPostgres(dataDir);
  const db = createDb(pg.url, 1);
  return {
    db,
    async close() {
      await db.$disconnect();
      await pg.stop();
    },
  };
}

export async function openClient(stateDir = DEFAULT_STATE_DIR): Promise<{ client: Client; close(): Promise<void> }> {
  const address = process.env.TEMPORAL_ADDRESS ?? readStackFile(stateDir)?.temporalAddress ?? 'localhost:7233';
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace: process.env.TEMPORAL_NAMESPACE ?? 'default' }), close: () => connection.close() };
}
