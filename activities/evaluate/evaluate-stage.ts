// The evaluate stage (GPU queue): every named model answers every named benchmark, greedily,
// with the task's token budget and the family's prompt wrapping (docs/method.md §10). Plan lays
// out one Evaluation per (model, benchmark) and shards over its rows; a shard answers only
// rows with no prediction under the same setup yet, so a retry resumes and a second run reuses
// a base model's answers; finalize re-scores every stored answer in row order and writes the
// paper's metrics.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ErrorTypes } from '../../core/errors';
import { evalPrompt } from '../../core/eval/prompts';
import { Aggregator, TASKS, type EvalRow } from '../../core/eval/tasks';
import type { TEvaluateSettings } from '../../core/spec';
import { canonicalJson } from '../hashing/canonical-json';
import type { PrismaTypes } from '../db/client';
import { failure } from '../errors';
import { backendFor } from '../inference/backend-for';
import { requireVllm } from '../inference/openai-backend';
import { streamGenerate, type CachedResult, type Outcome } from '../inference/generate-stream';
import { preparedImage } from '../inference/images';
import type { StageContext, StageImplementation } from '../stage/context';
import { callCost, ledgerTally, type CallCost } from '../stage/cost-ledger';
import { accounted } from '../stage/counts';
import { failWhenEveryRequestFailed } from '../stage/every-request-failed';
import { sha256File } from '../store/artifact-store';
import { BenchmarkFileError, countBenchmarkRows, readBenchmark, type BenchmarkRow } from '../benchmarks/benchmark-reader';
import { prepareEvalImage } from './eval-image';
import { evaluationDecoding, evaluationRequest } from './evaluation-request';
import { recordMetrics, scoreDetails } from './record-scores';
import { modelRowFor, resolveTarget } from './targets';

type Ctx = StageContext<'evaluate'>;
const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

/** What a prediction depends on besides the model and the row: reusable only under the same setup. */
function setupOf(s: TEvaluateSettings, task: keyof typeof TASKS, fileSha: string) {
  return {
    promptVersion: evalPrompt(s.promptFamily, '').version,
    ...(s.promptFamily === 'qwen2vl' ? { minPixels: s.minPixels, maxPixels: s.maxPixels } : {}),
    maxNewTokens: s.maxNewTokens ?? TASKS[task].maxNewTokens,
    ...(task === 'FoodSeg103' ? { f1Convention: s.f1Convention } : {}),
    // png (the default) is lossless and leaves the setup, and so earlier predictions, unchanged
    ...(s.imageFormat !== 'png' ? { imageFormat: s.imageFormat, imageQuality: s.imageQuality } : {}),
    fileSha256: fileSha,
  };
}

function requireTargets(s: TEvaluateSettings): void {
  if (s.benchmarks.length === 0) throw failure(ErrorTypes.InvalidRunSpec, 'stages.evaluate.benchmarks: required (at least one) when the pipeline has evaluate');
  if (s.models.length === 0) throw failure(ErrorTypes.InvalidRunSpec, 'stages.evaluate.models: required (at least one) when the pipeline has evaluate');
}

async function planEvaluations(ctx: Ctx) {
  const s = ctx.settings;
  requireTargets(s);
  const files = new Map<string, { sha: string; rows: number }>();
  for (const b of s.benchmarks) {
    const file = path.resolve(b.path);
    if (files.has(file)) continue;
    try {
      files.set(file, { rows: await countBenchmarkRows(file), sha: await sha256File(file) });
    } catch (e) {
      throw failure(ErrorTypes.InvalidInput, `stages.evaluate.benchmarks: ${(e as Error).message}`);
    }
  }
  let position = 0;
  for (const t of s.models) {
    const target = await resolveTarget(ctx.db, ctx.runId, t, ctx);
    let modelId: string;
    try {
      modelId = await modelRowFor(ctx.db, target, s.promptFamily, ctx);
    } catch (e) {
      // an unreachable endpoint is retried; a folder that cannot be read waits for the operator
      if (target.model.backend !== 'onnx') throw e;
      throw failure(ErrorTypes.InvalidInput, `stages.evaluate.models: cannot read model ${target.model.path}: ${(e as Error).message}`);
    }
    for (const b of s.benchmarks) {
      const file = path.resolve(b.path);
      const f = files.get(file)!;
      const setup = setupOf(s, b.task, f.sha);
      const data = {
        modelId,
        kind: target.kind === 'base' ? ('BASE' as const) : ('ADAPTED' as const),
        task: b.task,
        benchmark: file,
        fileSha256: f.sha,
        rows: Math.min(f.rows, b.limit ?? Infinity),
        setupHash: sha256(canonicalJson(setup)),
        setup: setup as PrismaTypes.InputJsonValue,
      };
      await ctx.db.evaluation.upsert({ where: { runId_position: { runId: ctx.runId, position } }, create: { runId: ctx.runId, position, ...data }, update: data });
      position++;
    }
  }
  // a patched retry with fewer targets leaves no stale plan behind
  await ctx.db.evaluation.deleteMany({ where: { runId: ctx.runId, position: { gte: position } } });
}

async function evaluations(ctx: Ctx) {
  return ctx.db.evaluation.findMany({ where: { runId: ctx.runId }, orderBy: { position: 'asc' }, include: { model: { select: { name: true } } } });
}

/** Shards in plan order: each evaluation's rows cut into shardSize ranges. */
function locateShard(evals: Awaited<ReturnType<typeof evaluations>>, shardSize: number, shard: number) {
  let first = 0;
  for (const e of evals) {
    const n = Math.ceil(e.rows / shardSize);
    if (shard < first + n) {
      const lo = (shard - first) * shardSize;
      return { evaluation: e, lo, hi: Math.min(e.rows, lo + shardSize) };
    }
    first += n;
  }
  throw failure(ErrorTypes.InvalidInput, `evaluate: shard ${shard} is past the plan (${first} shards)`);
}

async function imageBytes(row: BenchmarkRow): Promise<Uint8Array> {
  if (row.image.bytes?.length) return row.image.bytes;
  if (row.image.path) return new Uint8Array(await fs.readFile(row.image.path));
  throw new Error('row has no image');
}

export const evaluateStage: StageImplementation<'evaluate'> = {
  /** A patched retry re-plans; predictions under the old setup stay for reuse, this run's metrics go. */
  async reset(ctx) {
    await ctx.db.metric.deleteMany({ where: { runId: ctx.runId } });
  },

  async plan(ctx) {
    await planEvaluations(ctx);
    const evals = await evaluations(ctx);
    return {
      total: evals.reduce((n, e) => n + e.rows, 0),
      shardCount: evals.reduce((n, e) => n + Math.ceil(e.rows / ctx.settings.shardSize), 0),
    };
  },

  async shard(ctx, shard) {
    const s = ctx.settings;
    const { evaluation: e, lo, hi } = locateShard(await evaluations(ctx), s.shardSize, shard);
    const task = TASKS[e.task as keyof typeof TASKS];
    const target = await resolveTarget(ctx.db, ctx.runId, s.models[Math.floor(e.position / s.benchmarks.length)], ctx);
    const maxNewTokens = (e.setup as { maxNewTokens: number }).maxNewTokens;
    const image = { family: s.promptFamily, minPixels: s.minPixels, maxPixels: s.maxPixels };

    const rows: { row: BenchmarkRow; promptHash: string; prompt: ReturnType<typeof evalPrompt>; image?: Uint8Array; imageSha?: string; error?: string }[] = [];
    try {
      for await (const row of readBenchmark(e.benchmark, task, { from: lo, to: hi })) {
        const input = String(row.fields.input ?? '');
        const prompt = evalPrompt(s.promptFamily, input);
        let raw: Uint8Array | undefined;
        let error: string | undefined;
        try {
          raw = await imageBytes(row);
        } catch (err) {
          error = `image unreadable: ${(err as Error).message}`;
        }
        const imageSha = raw ? sha256(raw) : undefined;
        const promptHash = sha256(canonicalJson({ setup: e.setupHash, prompt: prompt.prompt, image: imageSha ?? null }));
        rows.push({ row, promptHash, prompt, image: raw, imageSha, error });
      }
    } catch (err) {
      if (err instanceof BenchmarkFileError) throw failure(ErrorTypes.InvalidInput, err.message);
      throw err;
    }
    const done = new Set(
      (
        await ctx.db.prediction.findMany({
          where: { modelId: e.modelId, task: e.task, setupHash: e.setupHash, rowIndex: { gte: lo, lt: hi }, promptHash: { in: rows.map((r) => r.promptHash) } },
          select: { rowIndex: true },
        })
      ).map((p) => p.rowIndex),
    );
    const todo = rows.filter((r) => !done.has(r.row.index));
    if (todo.length === 0) return { processed: 0 };
    const backend = await backendFor(target.model, ctx, { revision: target.trained?.revision });
    // the Llama-3 families' prompts open with two BOS (add_special_tokens) and are rendered by a template the server is given
    if (s.promptFamily !== 'qwen2vl') requireVllm(backend, `the ${s.promptFamily} evaluation prompt`);
    if (target.model.backend === 'openai' && !target.trained) {
      // Predictions belong to the Model row plan made from what the server reported then.
      const planned = await ctx.db.model.findUniqueOrThrow({ where: { id: e.modelId }, select: { revision: true } });
      if (planned.revision !== backend.identity) {
        throw failure(ErrorTypes.InvalidInput, `evaluate: the model served at ${target.model.baseUrl} changed since this stage planned (planned ${planned.revision}, now ${backend.identity}); retry the stage to evaluate the model served now`);
      }
    }

    const toPrediction = (r: (typeof rows)[number], out: CachedResult | undefined, error: string | undefined) => {
      const evalRow: EvalRow = { ...r.row.fields, ...(out ? { pred: out.text } : {}) };
      const score = task.scoreRow(evalRow, r.row.index, { f1Convention: s.f1Convention });
      const data = {
        setupHash: e.setupHash,
        runId: ctx.runId,
        output: out?.text ?? null,
        score: score.score,
        details: {
          ...scoreDetails(score),
          raw: score.raw ?? null,
          ...(error ? { error } : {}),
          ...(out ? { finishReason: out.finishReason, ...callCost(out) } : {}),
        } as PrismaTypes.InputJsonValue,
      };
      const key = { modelId: e.modelId, task: e.task, rowIndex: r.row.index, promptHash: r.promptHash };
      return ctx.db.prediction.upsert({ where: { modelId_task_rowIndex_promptHash: key }, create: { ...key, ...data }, update: data });
    };
    const write = async (outcomes: Outcome<(typeof rows)[number]>[]) => {
      await ctx.db.$transaction(outcomes.map((x) => toPrediction(x.item, x.result, x.error)));
    };

    // Rows without an image are decided at once; the rest stream, each image prepared when its
    // request goes out (in parallel with the others in flight) and encoded as the spec says.
    const unreadable = todo.filter((r) => r.error || !r.image);
    if (unreadable.length) await write(unreadable.map((r) => ({ item: r, error: r.error ?? 'image unreadable: row has no image' })));
    const how = { ...image, format: s.imageFormat, quality: s.imageQuality };
    const ext = s.imageFormat === 'jpeg' ? 'jpg' : s.imageFormat;
    const mediaDir = path.join(ctx.store.root, 'media');
    await streamGenerate({
      db: ctx.db,
      backend,
      promptFormat: todo[0].prompt.version,
      decoding: evaluationDecoding(maxNewTokens),
      useCache: s.cache,
      batchSize: s.batchSize,
      jobs: todo
        .filter((r) => !r.error && r.image)
        .map((r) => {
          const raw = r.image!;
          return { item: r, request: evaluationRequest(r.prompt, preparedImage(async () => raw, r.imageSha!, how, async (b) => ({ bytes: await prepareEvalImage(b, how), ext }), mediaDir)) };
        }),
      write,
      heartbeat: (d) => ctx.heartbeat({ shard, ...d }),
      heartbeatEveryMs: ctx.heartbeatEveryMs,
      signal: ctx.cancelled,
    });
    return { processed: todo.length };
  },

  async finalize(ctx) {
    const evals = await evaluations(ctx);
    let total = 0;
    let answered = 0;
    let unanswered = 0;
    let reused = 0;
    const ledger = ledgerTally();
    const reasons: { reason: string | null; n: number }[] = [];
    const outputs: Record<string, string | number> = {};
    for (const e of evals) {
      const task = TASKS[e.task as keyof typeof TASKS];
      const preds = new Map(
        (
          await ctx.db.prediction.findMany({
            where: { modelId: e.modelId, task: e.task, setupHash: e.setupHash, rowIndex: { lt: e.rows } },
            select: { rowIndex: true, output: true, details: true, runId: true },
          })
        ).map((p) => [p.rowIndex, p]),
      );
      if (preds.size !== e.rows) {
        throw failure(ErrorTypes.AccountingMismatch, `evaluate: ${e.task} has ${preds.size} predictions for ${e.rows} rows (model ${e.modelId})`);
      }
      total += e.rows;
      // Scores are recomputed from the stored output texts in row order, as the paper's code
      // sums them: a Float column round trip through Prisma can lose the last bit (prisma#11096).
      const agg = new Aggregator();
      const failed: { reason: string | null; n: number }[] = [];
      for await (const row of readBenchmark(e.benchmark, task, { to: e.rows })) {
        const p = preds.get(row.index)!;
        const d = (p.details ?? {}) as { error?: string | null } & Partial<CallCost>;
        agg.add(task.scoreRow({ ...row.fields, ...(p.output !== null ? { pred: p.output } : {}) }, row.index, { f1Convention: ctx.settings.f1Convention }));
        if (p.output === null) {
          unanswered++;
          failed.push({ reason: d.error ?? 'no prediction', n: 1 });
        } else answered++;
        if (p.runId !== ctx.runId) reused++;
        else ledger.add(d);
      }
      // a model that answered no row of a benchmark has no score on it, not a score of 0
      await failWhenEveryRequestFailed({ what: `evaluate: ${e.task} with ${e.model.name}`, made: e.rows, failed: failed.length, reasons: failed }, () =>
        ctx.db.prediction.deleteMany({ where: { modelId: e.modelId, task: e.task, setupHash: e.setupHash, rowIndex: { lt: e.rows }, output: null } }),
      );
      reasons.push(...failed);
      const metrics = task.aggregate(agg);
      await recordMetrics(ctx.db, ctx.runId, e.modelId, { task: e.task, metrics, missing: agg.missing, random: agg.random, errors: agg.errors, ...(e.task === 'FoodSeg103' ? { f1Convention: ctx.settings.f1Convention } : {}) });
      for (const [k, v] of Object.entries(metrics)) if (k !== 'test_num' && v !== null) outputs[`${e.task} ${k} (${e.model.name})`] = Math.round(v * 100) / 100;
    }
    const result = accounted('evaluate', { in: total, out: answered, filtered: 0, failed: unanswered }, reasons);
    return {
      ...result,
      outputs: { ...outputs, ...ledger.ledger(), reusedPredictions: reused },
    };
  },
};
