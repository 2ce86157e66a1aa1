// Planner statistics after a bulk write. A stage that has just inserted or rewritten a million
// rows leaves Postgres planning the next queries from statistics of the table as it was (or
// none: autovacuum may be off, or not yet round). Then a shard's range query (items of one
// sourceIndex or synId range) picks the (dataset, status) index and reads every row of the run:
// ~0.4 s a query at a million items, thousands of times a stage, where ANALYZE makes it 0.2 ms.
// ANALYZE samples a fixed number of rows, so it costs well under a second at any size.
import { Prisma, type Db } from './client';

export type AnalyzedTable = 'Item' | 'SynthTask' | 'Verdict' | 'TrainingRow';

export async function analyze(db: Db, ...tables: AnalyzedTable[]): Promise<void> {
  for (const t of tables) await db.$executeRaw`ANALYZE ${Prisma.raw(`"${t}"`)}`;
}
