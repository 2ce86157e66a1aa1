// The one Prisma client module. The pg driver adapter runs the query engine in JS, so no
// native engine binary is needed (environment.md).
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client';

export type Db = InstanceType<typeof PrismaClient>;
export { Prisma } from '../../generated/prisma/client';
export type { Prisma as PrismaTypes } from '../../generated/prisma/client';

/** `poolMax` 1 for PGlite, which serves a single connection. */
export function createDb(connectionString: string, poolMax = 5): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString, max: poolMax }) });
}
