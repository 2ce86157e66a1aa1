// Starts what the tests share, once: a Temporal dev server, a fresh database on the real
// Postgres (migrated), and the workflow bundle. Their coordinates reach tests through env.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startTemporalDevServer, type TemporalServer } from '../../cli/stack/temporal-server';
import { createDatabase, migrate } from '../../cli/stack/database';

declare global {
  var __ADAMLLM_TEST__: { temporal: TemporalServer; dbName: string; serverUrl: string; tmp: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adamllm-test-'));
  const serverUrl = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
  const dbName = `adamllm_test_${process.pid}_${Date.now()}`;
  const [temporal, url] = await Promise.all([
    startTemporalDevServer({ stateDir: path.join(tmp, 'temporal') }),
    createDatabase(serverUrl, dbName),
  ]);
  await migrate(url);
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', '..', 'workflows'), logger: quietLogger });
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);
  process.env.ADAMLLM_TEST_TEMPORAL = temporal.address;
  process.env.ADAMLLM_TEST_DATABASE_URL = url;
  process.env.ADAMLLM_TEST_BUNDLE = bundlePath;
  process.env.ADAMLLM_TEST_TMP = tmp;
  globalThis.__ADAMLLM_TEST__ = { temporal, dbName, serverUrl, tmp };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => process.stderr.write(`${m}\n`),
  error: (m: string) => process.stderr.write(`${m}\n`),
};
