// The database: DATABASE_URL when given, otherwise an embedded PGlite served over the
// Postgres wire protocol. Migrations are applied with Prisma's CLI (JS engine, offline).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from './paths';
import { freePort } from './temporal-server';

const run = promisify(execFile);

export interface Database {
  url: string;
  /** PGlite serves one connection at a time: keep the pool at 1 */
  poolMax: number;
  embedded: boolean;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string, port?: number): Promise<Database> {
  fs.mkdirSync(dataDir, { recursive: true });
  // Loaded lazily: only the embedded default needs the WebAssembly build.
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  const { PGLiteSocketServer } = require('@electric-sql/pglite-socket') as typeof import('@electric-sql/pglite-socket');
  const db = await PGlite.create(dataDir);
  const p = port ?? (await freePort());
  // Several connections (workers, `adamllm runs`, Prisma's migrate); PGlite serialises their queries.
  const server = new PGLiteSocketServer({ db, port: p, host: '127.0.0.1', maxConnections: 16 });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${p}/postgres?sslmode=disable`,
    poolMax: 1,
    embedded: true,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** Prisma must not try to download engines; it never runs them in JS-engine mode. */
export function prismaEnv(url: string): NodeJS.ProcessEnv {
  const placeholder = path.join(projectRoot(), 'prisma', '.engine-placeholder');
  return {
    ...process.env,
    DATABASE_URL: url,
    PRISMA_SCHEMA_ENGINE_BINARY: placeholder,
    PRISMA_QUERY_ENGINE_LIBRARY: placeholder,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    CHECKPOINT_DISABLE: '1',
  };
}

/** `prisma migrate deploy`: applies the committed migrations; a no-op when up to date. */
export async function migrate(url: string): Promise<void> {
  const root = projectRoot();
  const cli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
  try {
    await run(process.execPath, [cli, 'migrate', 'deploy'], { cwd: root, env: prismaEnv(url), maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`migrations failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** Creates a database on a server (for tests and `adamllm dev --fresh-db`). */
export async function createDatabase(serverUrl: string, name: string): Promise<string> {
  const { Client } = require('pg') as typeof import('pg');
  const c = new Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE "${name}"`);
  } finally {
    await c.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(serverUrl: string, name: string): Promise<void> {
  const { Client } = require('pg') as typeof import('pg');
  const c = new Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await c.end();
  }
}
