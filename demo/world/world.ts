// A small world in which tiny models learn in minutes on a CPU: general scenes with
// captions and tasks (the synthesizer's and the base model's training data), domain slides as
// image–caption pairs (what adaptDomain ingests), and a held-out domain benchmark in two of the
// paper's layouts. Deterministic from the seed: the same options give byte-identical files.
//
// Layout under `dir` (every path inside a JSON file is relative to that file's folder):
//   world.json                     the manifest (WorldManifest), written last
//   general/seed.json              [{image, caption, tasks: [{type, question, informative, precise}]}]
//   general/images/g_000000.png
//   domain/pairs.json              ShareGPT: [{images: [path], messages: [{role: 'user', content: '<image>…'}, {role: 'assistant', content: caption}]}]
//   domain/images/d_000000.png     (ingest with format 'sharegpt' and imageRoot = dir/domain)
//   domain/gold-pairs.json         the pairs, each followed by two gold tasks on the same image (the
//                                  demo's ceiling arm; ingest with dedupImages off)
//   benchmark/VQA_RAD/test.jsonl   {image, input, label, answer_type: 'OPEN' | 'CLOSED'} per line
//   benchmark/VQA_RAD/images/v_000000.png
//   benchmark/PMC_VQA/test.jsonl   {image, input, label: 'A'..'D', A, B, C, D} per line
//   benchmark/PMC_VQA/images/p_000000.png
// JSON arrays hold one entry per line, so a diff or `head` shows whole rows.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { PyRandom } from '../../core/pyrandom';
import { choiceItem, domainItem, generalItem, goldTasks, vqaItem, type Drawn } from './items';
import { renderPng } from './render';
import { streamRandom, type Stream } from './streams';
import { assertReplaceable, contentHash, filesIntact, freshPartial, install, MANIFEST, readJsonIfAny, sha256 } from './world-dir';

/** Bumped whenever the generator's output changes for the same options, so cached worlds are rebuilt. */
export const WORLD_VERSION = 'adamllm-world-v2';

export interface WorldParams {
  seed: number;
  generalImages: number;
  domainImages: number;
  /** rows in each benchmark file (VQA_RAD and PMC_VQA), each row with its own image */
  benchmarkRows: number;
  /** image side in pixels; a multiple of 28 maps onto whole Qwen2-VL merged patches */
  side: number;
}

/**
 * Sized for the CPU demo (under 30 minutes on 2 cores, all training included):
 * 3,000 general images give 12,000 seed tasks, 1,000 domain pairs, 300 rows per benchmark.
 * 112 px is 8×8 patches of 14 px, 4×4 = 16 visual tokens after Qwen2-VL's 2×2 merge.
 */
export const WORLD_DEFAULTS: WorldParams = { seed: 0, generalImages: 3000, domainImages: 1000, benchmarkRows: 300, side: 112 };

/** A reduced world for tests: tens of images, generated in about a second. */
export const WORLD_TEST_SIZE: Pick<WorldParams, 'generalImages' | 'domainImages' | 'benchmarkRows'> = { generalImages: 24, domainImages: 24, benchmarkRows: 16 };

export interface WorldOptions extends Partial<WorldParams> {
  dir: string;
  /** renders in flight at once (sharp works on libuv's thread pool) */
  concurrency?: number;
  onProgress?: (p: { part: string; done: number; total: number }) => void;
}

export interface WorldManifest {
  version: string;
  params: WorldParams;
  counts: {
    generalImages: number;
    generalTasks: number;
    generalTasksByType: Record<string, number>;
    domainPairs: number;
    vqaRadRows: number;
    vqaRadClosed: number;
    pmcVqaRows: number;
    files: number;
  };
  /** the files a consumer starts from, relative to the world folder */
  entries: { generalSeed: string; generalImageRoot: string; domainPairs: string; domainGoldPairs: string; domainImageRoot: string; vqaRad: string; pmcVqa: string };
  /** every file of the world (the manifest excepted), relative path → sha256 of its bytes */
  files: Record<string, string>;
  /** sha256 over `files` (path order): the same hash means the same world, byte for byte */
  hash: string;
}

export interface World extends WorldManifest {
  /** the world folder, absolute */
  dir: string;
  /** `entries` as absolute paths */
  paths: WorldManifest['entries'];
  /** true when a complete, intact world with the same version and params was already there */
  reused: boolean;
}

const ENTRIES: WorldManifest['entries'] = {
  generalSeed: 'general/seed.json',
  generalImageRoot: 'general',
  domainPairs: 'domain/pairs.json',
  domainGoldPairs: 'domain/gold-pairs.json',
  domainImageRoot: 'domain',
  vqaRad: 'benchmark/VQA_RAD/test.jsonl',
  pmcVqa: 'benchmark/PMC_VQA/test.jsonl',
};

function resolveParams(o: WorldOptions): WorldParams {
  const p: WorldParams = {
    seed: o.seed ?? WORLD_DEFAULTS.seed,
    generalImages: o.generalImages ?? WORLD_DEFAULTS.generalImages,
    domainImages: o.domainImages ?? WORLD_DEFAULTS.domainImages,
    benchmarkRows: o.benchmarkRows ?? WORLD_DEFAULTS.benchmarkRows,
    side: o.side ?? WORLD_DEFAULTS.side,
  };
  for (const [k, v] of Object.entries(p)) {
    const min = k === 'seed' ? 0 : k === 'side' ? 28 : 1;
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`generateWorld: ${k} must be an integer >= ${min}, got ${v}`);
  }
  if (p.side > 1024) throw new Error(`generateWorld: side must be at most 1024, got ${p.side}`);
  return p;
}

function opened(dir: string, m: WorldManifest, reused: boolean): World {
  const paths = Object.fromEntries(Object.entries(m.entries).map(([k, v]) => [k, path.join(dir, v)])) as WorldManifest['entries'];
  return { ...m, dir, paths, reused };
}

/** The world already in `dir`, if it is complete, intact and made by this version with these params. */
async function reusable(dir: string, params: WorldParams): Promise<WorldManifest | null> {
  const m = (await readJsonIfAny(path.join(dir, MANIFEST))) as WorldManifest | null;
  if (!m || m.version !== WORLD_VERSION || JSON.stringify(m.params) !== JSON.stringify(params)) return null;
  if (contentHash(m.files ?? {}) !== m.hash) return null;
  return (await filesIntact(dir, m.files)) ? m : null;
}

/**
 * Builds the world in `dir` (or returns the one there when it matches), returning its
 * manifest. Safe to interrupt: the world appears in `dir` only once complete. Refuses to
 * replace a folder that holds files but no world.json.
 */
export async function generateWorld(o: WorldOptions): Promise<World> {
  const params = resolveParams(o);
  const dir = path.resolve(o.dir);
  const existing = await reusable(dir, params);
  if (existing) return opened(dir, existing, true);
  await assertReplaceable(dir);
  const tmp = await freshPartial(dir);
  try {
    const manifest = await build(tmp, params, o);
    await install(tmp, dir);
    return opened(dir, manifest, false);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

interface Builder {
  root: string;
  params: WorldParams;
  files: Record<string, string>;
  /** image hashes across the whole world: no two images are the same bytes */
  seen: Set<string>;
  concurrency: number;
  onProgress?: WorldOptions['onProgress'];
}

async function writeFile(b: Builder, rel: string, content: Buffer | string): Promise<void> {
  await fs.mkdir(path.dirname(path.join(b.root, rel)), { recursive: true });
  await fs.writeFile(path.join(b.root, rel), content);
  b.files[rel] = sha256(content);
}

/**
 * Draws and renders `n` items of one stream into `folder/images/<prefix>_NNNNNN.png`. Renders
 * run concurrently, but an image whose bytes repeat an earlier one is redrawn (next attempt
 * of its stream) in index order, so the outcome never depends on timing.
 */
async function drawPart<T>(b: Builder, part: string, stream: Stream, n: number, folder: string, prefix: string, make: (r: PyRandom, i: number) => Drawn<T>): Promise<{ image: string; data: T }[]> {
  const out: { image: string; data: T }[] = [];
  const draw = async (i: number, attempt: number) => {
    const d = make(streamRandom(b.params.seed, stream, i, attempt), i);
    return { d, png: await renderPng(d.svg) };
  };
  for (let start = 0; start < n; start += b.concurrency) {
    const batch = Array.from({ length: Math.min(b.concurrency, n - start) }, (_, k) => start + k);
    const drawn = await Promise.all(batch.map((i) => draw(i, 0)));
    const writes: Promise<void>[] = [];
    for (const [k, i] of batch.entries()) {
      let { d, png } = drawn[k];
      for (let attempt = 1; b.seen.has(sha256(png)); attempt++) {
        if (attempt > 50) throw new Error(`generateWorld: ${part} item ${i} keeps repeating an earlier image`);
        ({ d, png } = await draw(i, attempt));
      }
      b.seen.add(sha256(png));
      const image = `images/${prefix}_${String(i).padStart(6, '0')}.png`;
      writes.push(writeFile(b, `${folder}/${image}`, png));
      out.push({ image, data: d.data });
    }
    await Promise.all(writes);
    b.onProgress?.({ part, done: start + batch.length, total: n });
  }
  return out;
}

const jsonArray = (rows: unknown[]) => `[\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]\n`;
const jsonLines = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function build(root: string, params: WorldParams, o: WorldOptions): Promise<WorldManifest> {
  const b: Builder = { root, params, files: {}, seen: new Set(), concurrency: Math.max(1, o.concurrency ?? 8), onProgress: o.onProgress };
  const { side } = params;

  const general = await drawPart(b, 'general', 'general', params.generalImages, 'general', 'g', (r) => generalItem(r, side));
  await writeFile(b, ENTRIES.generalSeed, jsonArray(general.map(({ image, data }) => ({ image, caption: data.caption, tasks: data.tasks }))));

  const domain = await drawPart(b, 'domain', 'domain', params.domainImages, 'domain', 'd', (r) => domainItem(r, side));
  const pairs = domain.map(({ image, data }) => ({
    images: [image],
    messages: [
      { role: 'user', content: data.instruction },
      { role: 'assistant', content: data.caption },
    ],
  }));
  await writeFile(b, ENTRIES.domainPairs, jsonArray(pairs));
  const gold = domain.flatMap(({ image, data }, i) => [
    pairs[i],
    ...goldTasks(streamRandom(params.seed, 'gold', i), data.slide, i).map((t) => ({
      images: [image],
      messages: [
        { role: 'user', content: `<image>${t.question}` },
        { role: 'assistant', content: t.answer },
      ],
    })),
  ]);
  await writeFile(b, ENTRIES.domainGoldPairs, jsonArray(gold));

  const vqa = await drawPart(b, 'VQA_RAD', 'vqa', params.benchmarkRows, 'benchmark/VQA_RAD', 'v', (r, i) => vqaItem(r, side, i));
  await writeFile(b, ENTRIES.vqaRad, jsonLines(vqa.map(({ image, data }) => ({ image, ...data }))));
  const choice = await drawPart(b, 'PMC_VQA', 'choice', params.benchmarkRows, 'benchmark/PMC_VQA', 'p', (r) => choiceItem(r, side));
  await writeFile(b, ENTRIES.pmcVqa, jsonLines(choice.map(({ image, data }) => ({ image, ...data }))));

  const byType: Record<string, number> = {};
  for (const t of general.flatMap((g) => g.data.tasks)) byType[t.type] = (byType[t.type] ?? 0) + 1;
  const manifest: WorldManifest = {
    version: WORLD_VERSION,
    params,
    counts: {
      generalImages: general.length,
      generalTasks: general.reduce((n, g) => n + g.data.tasks.length, 0),
      generalTasksByType: byType,
      domainPairs: pairs.length,
      vqaRadRows: vqa.length,
      vqaRadClosed: vqa.filter((v) => v.data.answer_type === 'CLOSED').length,
      pmcVqaRows: choice.length,
      files: Object.keys(b.files).length,
    },
    entries: ENTRIES,
    // path order, not the order concurrent writes finished in: the manifest is byte-stable too
    files: Object.fromEntries(Object.keys(b.files).sort().map((rel) => [rel, b.files[rel]])),
    hash: contentHash(b.files),
  };
  await fs.writeFile(path.join(root, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  return manifest;
}
