// Temporary folders for tests, under the tier's folder: the global setup's (services tier) or
// tests/setup/unit-tmp.ts's (unit tier). Needs no service, so unit tests import it from here.
import fs from 'node:fs';
import path from 'node:path';

export function tempDir(prefix: string): string {
  const root = process.env.ADAMLLM_TEST_TMP;
  if (!root) throw new Error('tests need their tier\'s setup (run them with jest from the project root)');
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}
