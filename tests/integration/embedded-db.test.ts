// The embedded default for machines without Postgres: PGlite over the wire protocol,
// migrated by Prisma's CLI, then read back by `adamllm runs` in a new process with no
// DATABASE_URL (the data persisted on disk).
import { tempDir } from '../helpers/env';
import { runCli, runTs } from '../helpers/processes';


test('PGlite serves migrations and Prisma, and the run history survives a restart', async () => {
  const stateDir = tempDir('embedded');
  const env = { ...process.env };
  delete env.DATABASE_URL;
  await runTs('tests/helpers/embedded-db-seed.ts', [stateDir], env);
  const { stdout } = await runCli(['--state-dir', stateDir, 'runs', 'show', 'embedded-wf', '--json'], env);
  expect(JSON.parse(stdout)).toMatchObject({ id: 'embedded-run', domain: 'food', status: 'SUCCEEDED', spec: { a: 1 } });
}, 120_000);
