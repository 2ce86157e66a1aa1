// Run as a subprocess by embedded-db.test.ts (PGlite needs real dynamic imports, which
// Jest's module sandbox lacks): migrates an embedded PGlite and writes one run.
import path from 'node:path';
import { createDb } from '../../activities/db/client';
import { migrate, startEmbeddedPostgres } from '../../cli/stack/database';

async function main(stateDir: string): Promise<void> {
  const pg = await startEmbeddedPostgres(path.join(stateDir, 'pglite'));
  await migrate(pg.url);
  const db = createDb(pg.url, pg.poolMax);
  await db.run.create({ data: { id: 'embedded-run', workflowId: 'embedded-wf', domain: 'food', status: 'SUCCEEDED', spec: { a: 1 }, specHash: 'h', specVersion: 1 } });
  await db.$disconnect();
  await pg.stop();
}

main(process.argv[2]).catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
