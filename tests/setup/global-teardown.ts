import fs from 'node:fs';
import { dropDatabase } from '../../cli/stack/database';

export default async function globalTeardown(): Promise<void> {
  const t = globalThis.__ADAMLLM_TEST__;
  if (!t) return;
  await t.temporal.stop();
  await dropDatabase(t.serverUrl, t.dbName);
  if (!process.env.ADAMLLM_KEEP_TEST_TMP) fs.rmSync(t.tmp, { recursive: true, force: true });
}
