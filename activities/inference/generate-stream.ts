// A shard's model calls, streamed: cached outputs are decided at once, the rest go to the backend
// (all at once for an endpoint, whose limiter bounds what is in flight; batch by batch for an
// in-process model), and every answer is written as it arrives, in small groups. Per-item faults
// (a request the server refuses, an unusable image) decide their item as failed; anything else
// stops asking, lets what is in flight land, writes it, and fails the shard, so its retry asks
// only for what is still undecided.
//
// Why it must stream: a vLLM server keeps a batch of a few hundred sequences busy only while that
// many requests are in flight. Waiting for a whole batch of requests before sending the next (the
// old loop) left it idle for the slowest answer of every batch; and a shard that wrote only at its
// end lost every answer when it failed.
import { createHash } from 'node:crypto';
import { ErrorTypes } from '../../core/errors';
import { canonicalJson } from '../hashing/canonical-json';
import { failure } from '../errors';
import type { Db, PrismaTypes } from '../db/client';
import { imageBytes, itemFault, type Decoding, type GenerateBackend, type GenerateRequest, type GenerateResult, type ImageInput } from './backend';

/** Output cache key (docs/architecture.md, rule 6): greedy decoding is deterministic, so an output keyed by model identity, prompt format, decoding and input is reusable by any worker and any later run. */
export function cacheKey(identity: string, promptFormat: string, d: Decoding, r: GenerateRequest): string {
  const images = (r.images ?? []).map(imageHash);
  return createHash('sha256').update(canonicalJson({ identity, promptFormat, decoding: d, prompt: r.prompt, images })).digest('hex');
}

const imageHash = (i: ImageInput): string => (i instanceof Uint8Array ? createHash('sha256').update(i).digest('hex') : i.sha256);

export interface CachedResult extends GenerateResult {
  cached: boolean;
}

/** What became of one item: an output (fresh or cached), or the reason it failed. */
export type Outcome<T> = { item: T; result: CachedResult; error?: undefined } | { item: T; result?: undefined; error: string };

export interface StreamOptions<T> {
  db: Db;
  backend: GenerateBackend;
  promptFormat: string;
  decoding: Decoding;
  useCache: boolean;
  /** requests per call for an in-process (batch-mode) backend */
  batchSize: number;
  jobs: { item: T; request: GenerateRequest }[];
  /** stores decided items; called one group at a time (never concurrently) */
  write(outcomes: Outcome<T>[]): Promise<void>;
  /** keeps the activity alive while requests wait or run; called on a timer, not per answer */
  heartbeat(details: { decided: number; total: number; waiting: number }): void;
  /** default 5 s */
  heartbeatEveryMs?: number;
  signal: AbortSignal;
  /** answers per write; a write also happens `flushEveryMs` after the first answer waiting */
  flushSize?: number;
  flushEveryMs?: number;
}

/** Decides every job (an output or a per-item failure) or throws after writing what was answered. */
export async function streamGenerate<T>(o: StreamOptions<T>): Promise<{ decided: number; fresh: number; cached: number; failed: number }> {
  const flushSize = o.flushSize ?? 64;
  const counts = { decided: 0, fresh: 0, cached: 0, failed: 0 };
  let waiting = 0; // asked and not answered yet: queued at the limiter, in flight, or in a batch
  const stop = new AbortController(); // a fatal error: stop asking
  let fatal: unknown;
  const fail = (e: unknown) => {
    fatal ??= e;
    stop.abort(e);
  };
  const writer = new GroupWriter<T>(o, flushSize, o.flushEveryMs ?? 200, fail, (outs) => {
    counts.decided += outs.length;
    for (const x of outs) {
      if (x.error !== undefined) counts.failed++;
      else if (x.result.cached) counts.cached++;
      else counts.fresh++;
    }
  });
  const timer = setInterval(() => o.heartbeat({ decided: counts.decided, total: o.jobs.length, waiting }), o.heartbeatEveryMs ?? 5000);
  try {
    if (o.useCache && o.backend.unidentified) {
      throw failure(ErrorTypes.InvalidInput, `${o.backend.identity}: ${o.backend.unidentified}, so the output cache could hand another checkpoint's answers back: set the model's revision in the spec (the served weights' tag or hash), or cache: false`);
    }
    const keyed = o.jobs.map((j) => ({ ...j, key: cacheKey(o.backend.identity, o.promptFormat, o.decoding, j.request) }));
    const hits = o.useCache ? await lookup(o.db, keyed.map((k) => k.key)) : new Map<string, GenerateResult>();
    const misses: typeof keyed = [];
    for (const k of keyed) {
      const hit = hits.get(k.key);
      if (hit) writer.push({ item: k.item, result: { ...hit, cached: true } });
      else misses.push(k);
    }
    const answered = (k: (typeof keyed)[number], r: GenerateResult) => writer.push({ item: k.item, result: { ...r, cached: false } }, o.useCache ? { key: k.key, output: r } : undefined);
    const settle = (k: (typeof keyed)[number], e: unknown) => {
      const reason = itemFault(e);
      if (reason !== null) writer.push({ item: k.item, error: reason });
      else if (!stop.signal.aborted) fail(e);
    };

    if (o.backend.mode === 'concurrent') {
      // Every miss is asked at once; the endpoint's limiter (shared by the whole process) decides
      // when each goes out. A fatal error abandons those still waiting; those in flight land.
      await Promise.all(
        misses.map(async (k) => {
          waiting++;
          try {
            const [r] = await o.backend.generate([k.request], o.decoding, { signal: o.signal, queueSignal: stop.signal });
            answered(k, r);
          } catch (e) {
            settle(k, e);
          } finally {
            waiting--;
          }
        }),
      );
    } else {
      for (let i = 0; i < misses.length && !stop.signal.aborted; i += o.batchSize) {
        o.signal.throwIfAborted();
        // Images are loaded first so one unusable image fails its item, not the batch.
        const ready: typeof keyed = [];
        for (const k of misses.slice(i, i + o.batchSize)) {
          try {
            ready.push({ ...k, request: { ...k.request, images: await Promise.all((k.request.images ?? []).map(imageBytes)) } });
          } catch (e) {
            settle(k, e);
          }
        }
        if (ready.length === 0) continue;
        waiting = ready.length;
        try {
          const rs = await o.backend.generate(ready.map((k) => k.request), o.decoding, { signal: o.signal });
          ready.forEach((k, j) => answered(k, rs[j]));
        } catch (e) {
          fail(e);
        }
        waiting = 0;
      }
    }
  } catch (e) {
    fail(e);
  } finally {
    clearInterval(timer);
    // What was answered is written even when the shard fails: its retry will not ask again.
    await writer.close().catch((e: unknown) => fail(e));
  }
  if (fatal !== undefined) throw fatal;
  if (o.signal.aborted) throw new Error('cancelled');
  return counts;
}

/** Cached outputs for the keys, looked up in groups (a shard may have thousands). */
async function lookup(db: Db, keys: string[]): Promise<Map<string, GenerateResult>> {
  const found = new Map<string, GenerateResult>();
  for (let i = 0; i < keys.length; i += 1000) {
    const some = keys.slice(i, i + 1000);
    const hits = await db.cacheEntry.findMany({ where: { key: { in: some } }, select: { key: true, output: true } });
    if (hits.length) await db.cacheEntry.updateMany({ where: { key: { in: hits.map((h) => h.key) } }, data: { hits: { increment: 1 } } });
    for (const h of hits) found.set(h.key, h.output as unknown as GenerateResult);
  }
  return found;
}

/**
 * Writes outcomes in groups, one group at a time: the fresh outputs to the cache first, then the
 * stage's rows, so a crash between the two costs no model call on retry.
 */
class GroupWriter<T> {
  private pending: { outcome: Outcome<T>; cache?: { key: string; output: GenerateResult } }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private error: unknown;

  constructor(
    private readonly o: StreamOptions<T>,
    private readonly size: number,
    private readonly everyMs: number,
    private readonly onError: (e: unknown) => void,
    private readonly onWritten: (outs: Outcome<T>[]) => void,
  ) {}

  push(outcome: Outcome<T>, cache?: { key: string; output: GenerateResult }): void {
    this.pending.push({ outcome, cache });
    if (this.pending.length >= this.size) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.everyMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const group = this.pending;
    this.pending = [];
    if (group.length === 0) return;
    this.chain = this.chain.then(async () => {
      if (this.error !== undefined) return;
      try {
        const fresh = group.flatMap((g) => (g.cache ? [g.cache] : []));
        if (fresh.length) {
          await this.o.db.cacheEntry.createMany({
            data: fresh.map((c) => ({ key: c.key, backend: this.o.backend.identity, promptFormat: this.o.promptFormat, output: c.output as unknown as PrismaTypes.InputJsonValue })),
            skipDuplicates: true,
          });
        }
        const outs = group.map((g) => g.outcome);
        await this.o.write(outs);
        this.onWritten(outs);
      } catch (e) {
        this.error = e;
        this.onError(e);
      }
    });
  }

  /** Writes what is left; rejects with the first write error. */
  async close(): Promise<void> {
    this.flush();
    await this.chain;
    if (this.error !== undefined) throw this.error;
  }
}
