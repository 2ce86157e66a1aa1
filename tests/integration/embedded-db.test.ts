// The embedded default for machines without Postgres: PGlite over the wire protocol,
// migrated by Prisma's CLI, then read back by `adamllm runs` in a new process with no
// DATABASE_URL (the data persisted on disk).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { tempDir } from '../helpers/env';

const exec = promisify(execFile);
const root = path.join(__dirname, '..', '..');

test('PGlite serves migrations and Prisma, and the run history survives a restart', async () => {
  const stateDir = tempDir('embedded');
  const env = { ...process.env };
  delete env.DATABASE_URL;
  await exec(process.execPath, ['--import', 'tsx', path.join(root, 'tests', 'helpers', 'embedded-db-seed.ts'), stateDir], { env });
  const { stdout } = await exec(process.execPath, ['--import', 'tsx', path.join(root, 'cli', 'main.ts'), '--state-dir', stateDir, 'runs', 'show', 'embedded-wf', '--json'], { env });
  expect(JSON.parse(stdout)).toMatchObject({ id: 'embedded-run', domain: 'food', status: 'SUCCEEDED', spec: { a: 1 } });
}, 120_000);
