// Bulk inserts for the per-item hot paths: one INSERT … SELECT FROM unnest(one array per
// column) ON CONFLICT DO NOTHING, the same semantics as createMany({ skipDuplicates: true }).
//
// Why not createMany: Prisma's client engine compiles a createMany with every value in the
// query, so its cost grows with the rows: 256 rows took ~120 ms of worker CPU against ~20 ms
// for this statement (bench:scale measured the CPU worker at half its time in Prisma on the
// data pipeline). Here the statement has one parameter per column, whatever the row count.
import { Prisma, type Db } from './client';

/** Postgres type of a column's values; enums by their quoted type name (`"TaskStatus"`). */
export type ColumnType = 'text' | 'int' | 'boolean' | 'double precision' | 'jsonb' | `"${string}"`;

/**
 * Inserts `rows` into `table` (ids from gen_random_uuid(), createdAt/updatedAt now), skipping
 * rows that hit a unique key. `columns` names each column to write and its type; a row's
 * missing value is NULL, and jsonb values are JSON-encoded here. Returns the rows inserted.
 */
export async function insertRows(db: Db, table: string, columns: Record<string, ColumnType>, rows: Record<string, unknown>[]): Promise<number> {
  if (rows.length === 0) return 0;
  const names = Object.keys(columns);
  const arrays = names.map((name) => {
    const type = columns[name];
    const values = rows.map((r) => {
      const v = r[name];
      if (v === undefined || v === null) return null;
      return type === 'jsonb' ? JSON.stringify(v) : v;
    });
    // jsonb and enums travel as text and are cast per element below
    const arrayType = type === 'jsonb' || type.startsWith('"') ? 'text' : type;
    return Prisma.sql`${values}::${Prisma.raw(arrayType)}[]`;
  });
  const quoted = (n: string) => Prisma.raw(`"${n}"`);
  const selected = names.map((n, i) => Prisma.sql`v.c${Prisma.raw(String(i))}::${Prisma.raw(columns[n])}`);
  const aliases = Prisma.raw(names.map((_, i) => `c${i}`).join(', '));
  return db.$executeRaw`
    INSERT INTO ${quoted(table)} ("id", ${Prisma.join(names.map(quoted))}, "createdAt", "updatedAt")
    SELECT gen_random_uuid()::text, ${Prisma.join(selected)}, NOW(), NOW()
    FROM unnest(${Prisma.join(arrays)}) AS v(${aliases})
    ON CONFLICT DO NOTHING`;
}
