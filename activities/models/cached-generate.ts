// Durable output cache for deterministic model calls (design.md, rule 6): greedy decoding is
// deterministic, so an output keyed by (model identity, prompt format, decoding, input) is
// reused by any worker and any later run over the same data.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../bookkeeping/canonical-json';
import type { Db, PrismaTypes } from '../db/client';
import type { Decoding, GenerateBackend, GenerateRequest, GenerateResult } from './backend';

export function cacheKey(identity: string, promptFormat: string, d: Decoding, r: GenerateRequest): string {
  const images = (r.images ?? []).map((b) => createHash('sha256').update(b).digest('hex'));
  return createHash('sha256').update(canonicalJson({ identity, promptFormat, decoding: d, prompt: r.prompt, images })).digest('hex');
}

export interface CachedResult extends GenerateResult {
  cached: boolean;
}

/** Generates what is not cached yet, in one backend call, and stores it; returns results in request order. */
export async function cachedGenerate(db: Db, backend: GenerateBackend, promptFormat: string, batch: GenerateRequest[], d: Decoding, useCache = true): Promise<CachedResult[]> {
  if (!useCache) return (await backend.generate(batch, d)).map((r) => ({ ...r, cached: false }));
  const keys = batch.map((r) => cacheKey(backend.identity, promptFormat, d, r));
  const hits = await db.cacheEntry.findMany({ where: { key: { in: keys } }, select: { key: true, output: true } });
  const results = new Map<string, CachedResult>(hits.map((h) => [h.key, { ...(h.output as unknown as GenerateResult), cached: true }]));
  if (hits.length) await db.cacheEntry.updateMany({ where: { key: { in: hits.map((h) => h.key) } }, data: { hits: { increment: 1 } } });
  const missing = batch.map((r, i) => ({ r, key: keys[i] })).filter((m) => !results.has(m.key));
  if (missing.length) {
    const fresh = await backend.generate(missing.map((m) => m.r), d);
    await db.cacheEntry.createMany({
      data: fresh.map((res, j) => ({ key: missing[j].key, backend: backend.identity, promptFormat, output: res as unknown as PrismaTypes.InputJsonValue })),
      skipDuplicates: true,
    });
    fresh.forEach((res, j) => results.set(missing[j].key, { ...res, cached: false }));
  }
  return keys.map((k) => results.get(k)!);
}
