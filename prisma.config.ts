// Prisma CLI configuration. The JS engine with the pg driver adapter lets `migrate deploy`
// run without native engine binaries, which cannot be downloaded on offline machines.
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  async adapter() {
    const url = process.env.DATABASE_URL;
    if (!url) throw new Error('DATABASE_URL is not set');
    return new PrismaPg({ connectionString: url });
  },
} as Parameters<typeof defineConfig>[0]);
