// The demo's procedural world at test size: deterministic to the byte, every file read
// by the project's real readers and scored by the real task registry, the benchmark held out
// from the domain pairs, the two vocabularies apart, and a world that only appears complete.
import fs from 'node:fs';
import path from 'node:path';
import { readSourceRows, type SourceRow } from '../../activities/ingest/readers';
import { checkImage } from '../../activities/ingest/check-image';
import { readBenchmark, type BenchmarkRow } from '../../activities/benchmarks/benchmark-reader';
import { Aggregator, TASKS, type EvalTask } from '../../core/eval/tasks';
import { parseRunSpec } from '../../core/spec';
import { generateWorld, WORLD_TEST_SIZE, type World } from '../../demo/world/world';
import { GENERAL_TASK_TYPES, type GeneralTask } from '../../demo/world/general-tasks';
import { tempDir } from '../helpers/tmp';

const small = { ...WORLD_TEST_SIZE, seed: 7 };
const score = { f1Convention: 'sklearn>=1.3' as const };

/** Every file under dir, relative, sorted. */
function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const words = (texts: string[]) => new Set(texts.flatMap((t) => t.toLowerCase().match(/[a-z]+/g) ?? []));

let world: World;
beforeAll(async () => {
  world = await generateWorld({ dir: path.join(tempDir('world'), 'w'), ...small });
});

test('the same seed gives the same bytes; another seed another world', async () => {
  const again = await generateWorld({ dir: path.join(tempDir('world'), 'w'), ...small });
  expect(again.reused).toBe(false);
  const files = listFiles(world.dir);
  expect(listFiles(again.dir)).toEqual(files);
  expect(files).toHaveLength(world.counts.files + 1); // + world.json
  for (const f of files) expect(fs.readFileSync(path.join(again.dir, f)).equals(fs.readFileSync(path.join(world.dir, f)))).toBe(true);
  expect(again.hash).toBe(world.hash);

  const other = await generateWorld({ dir: path.join(tempDir('world'), 'w'), ...small, seed: 8 });
  expect(other.hash).not.toBe(world.hash);
  expect(fs.readFileSync(other.paths.domainPairs).equals(fs.readFileSync(world.paths.domainPairs))).toBe(false);
});

test('the manifest counts what was written and hashes every file', () => {
  expect(world.counts).toMatchObject({ generalImages: 24, generalTasks: 96, domainPairs: 24, vqaRadRows: 16, vqaRadClosed: 8, pmcVqaRows: 16 });
  expect(Object.keys(world.files)).toEqual(listFiles(world.dir).filter((f) => f !== 'world.json'));
  expect(Object.keys(world.counts.generalTasksByType).sort()).toEqual([...GENERAL_TASK_TYPES].sort());
});

test('the domain pairs stream through the ShareGPT ingest reader, images pass the ingest checks', async () => {
  const dataset = parseRunSpec({ version: 1, domain: 'slides', dataset: { format: 'sharegpt', path: world.paths.domainPairs, imageRoot: world.paths.domainImageRoot } }).dataset;
  const rows: SourceRow[] = await collect(readSourceRows(dataset, world.paths.domainPairs));
  expect(rows).toHaveLength(world.counts.domainPairs);
  const limits = parseRunSpec({ version: 1, domain: 'd', dataset: { format: 'csv', path: 'x', imageRoot: 'y' } }).stages.ingest;
  const root = fs.realpathSync(world.paths.domainImageRoot);
  for (const r of rows) {
    expect(r.error).toBeUndefined();
    expect(r.instruction).toMatch(/^<image>\S/);
    expect(r.caption!.split(' ').length).toBeGreaterThan(10);
    expect(await checkImage(root, r.image, limits)).toMatchObject({ ok: true, format: 'png', width: 112, height: 112 });
  }
});

test('gold pairs (the ceiling arm): each domain pair, then a VQA-RAD-style and a PMC-VQA-style task on the same image, read by the ShareGPT reader', async () => {
  const dataset = parseRunSpec({ version: 1, domain: 'slides', dataset: { format: 'sharegpt', path: world.paths.domainGoldPairs, imageRoot: world.paths.domainImageRoot } }).dataset;
  const rows: SourceRow[] = await collect(readSourceRows(dataset, world.paths.domainGoldPairs));
  const pairs: SourceRow[] = await collect(readSourceRows(dataset, world.paths.domainPairs));
  expect(rows).toHaveLength(3 * pairs.length);
  pairs.forEach((p, i) => {
    const [pair, vqa, choice] = rows.slice(3 * i, 3 * i + 3);
    expect(pair).toMatchObject({ image: p.image, instruction: p.instruction, caption: p.caption });
    expect([vqa.image, choice.image]).toEqual([p.image, p.image]);
    // even rows ask a CLOSED question (yes/no), odd rows an OPEN one; the choice row answers with a letter
    if (i % 2 === 0) expect(['yes', 'no']).toContain(vqa.caption);
    else expect(vqa.caption).toMatch(/^[a-z]+( [a-z]+)?$/);
    expect(choice.instruction).toMatch(/\nA\. .*\nB\. .*\nC\. .*\nD\. /s);
    expect(choice.caption).toMatch(/^[ABCD]$/);
  });
});

test('general seed rows: an image, a caption and four tasks with a question, a sentence and a short answer', () => {
  const seed = JSON.parse(fs.readFileSync(world.paths.generalSeed, 'utf8')) as { image: string; caption: string; tasks: GeneralTask[] }[];
  expect(seed).toHaveLength(world.counts.generalImages);
  for (const e of seed) {
    expect(fs.existsSync(path.join(world.paths.generalImageRoot, e.image))).toBe(true);
    expect(e.caption).toMatch(/ background\. /);
    expect(e.tasks).toHaveLength(4);
    expect(new Set(e.tasks.map((t) => t.type)).size).toBe(4);
    for (const t of e.tasks) {
      expect(GENERAL_TASK_TYPES).toContain(t.type);
      expect(t.question).toMatch(/[?.]$|\n/);
      expect(t.informative).toMatch(/^[A-Z].*\.$/);
      expect(t.precise.split(' ').length).toBeLessThanOrEqual(2);
      if (t.type === 'choice') expect(t.precise).toMatch(/^[A-D]$/);
    }
  }
});

async function scored(file: string, task: EvalTask): Promise<BenchmarkRow[]> {
  const rows = await collect(readBenchmark(file, task));
  for (const r of rows) expect(fs.existsSync(r.image.path!)).toBe(true);
  return rows;
}

test('VQA_RAD rows: half CLOSED yes/no, half OPEN in one or two words; the label scores full marks, a wrong answer less', async () => {
  const task = TASKS.VQA_RAD;
  const rows = await scored(world.paths.vqaRad, task);
  expect(rows).toHaveLength(world.counts.vqaRadRows);
  const right = new Aggregator();
  const wrong = new Aggregator();
  for (const r of rows) {
    const label = String(r.fields.label);
    if (r.fields.answer_type === 'CLOSED') expect(['yes', 'no']).toContain(label);
    else expect(label.split(' ').length).toBeLessThanOrEqual(2);
    right.add(task.scoreRow({ ...r.fields, pred: label }, r.index, score));
    const other = r.fields.answer_type === 'CLOSED' ? (label === 'yes' ? 'no' : 'yes') : 'zebra';
    wrong.add(task.scoreRow({ ...r.fields, pred: other }, r.index, score));
  }
  expect(right.closedN).toBe(rows.length / 2);
  expect(task.aggregate(right)).toEqual({ test_num: rows.length, 'OPEN recall': 100, 'CLOSED yes/no accuracy': 100 });
  expect(task.aggregate(wrong)).toEqual({ test_num: rows.length, 'OPEN recall': 0, 'CLOSED yes/no accuracy': 0 });
  // both answers occur among the closed rows
  expect(new Set(rows.filter((r) => r.fields.answer_type === 'CLOSED').map((r) => r.fields.label)).size).toBe(2);
});

test('PMC_VQA rows: four options, the gold letter scores 100, another letter 0', async () => {
  const task = TASKS.PMC_VQA;
  const rows = await scored(world.paths.pmcVqa, task);
  expect(rows).toHaveLength(world.counts.pmcVqaRows);
  for (const r of rows) {
    const f = r.fields as Record<string, string>;
    expect(new Set([f.A, f.B, f.C, f.D]).size).toBe(4);
    for (const l of ['A', 'B', 'C', 'D']) expect(f.input).toContain(`\n${l}. ${f[l]}`);
    expect(task.scoreRow({ ...f, pred: f.label }, r.index, score).score).toBe(100);
    expect(task.scoreRow({ ...f, pred: `${f.label === 'A' ? 'B' : 'A'}` }, r.index, score).score).toBe(0);
    // the answer in words selects its option alone (no option text is part of another)
    expect(task.scoreRow({ ...f, pred: `It is ${f[f.label]}` }, r.index, score)).toMatchObject({ score: 100, stage: 'content' });
  }
});

test('the benchmark is held out: none of its images is among the domain pairs, by path or by content', () => {
  const pairImages = new Set((JSON.parse(fs.readFileSync(world.paths.domainPairs, 'utf8')) as { images: string[] }[]).map((p) => path.join(world.paths.domainImageRoot, p.images[0])));
  const hashOf = (abs: string) => world.files[path.relative(world.dir, abs)];
  const pairHashes = new Set([...pairImages].map(hashOf));
  for (const file of [world.paths.vqaRad, world.paths.pmcVqa]) {
    for (const line of fs.readFileSync(file, 'utf8').trim().split('\n')) {
      const abs = path.resolve(path.dirname(file), (JSON.parse(line) as { image: string }).image);
      expect(pairImages.has(abs)).toBe(false);
      expect(pairHashes.has(hashOf(abs))).toBe(false);
    }
  }
  expect(new Set(Object.values(world.files)).size).toBe(Object.values(world.files).length); // no two files alike at all
});

test('the domain speaks words the general data never uses, and the other way round', () => {
  const seed = JSON.parse(fs.readFileSync(world.paths.generalSeed, 'utf8')) as { caption: string; tasks: GeneralTask[] }[];
  const general = words(seed.flatMap((e) => [e.caption, ...e.tasks.flatMap((t) => [t.question, t.informative, t.precise])]));
  const captions = (JSON.parse(fs.readFileSync(world.paths.domainPairs, 'utf8')) as { messages: { content: string }[] }[]).map((p) => p.messages[1].content);
  const domain = words(captions);
  for (const w of ['cell', 'cells', 'slide', 'stained', 'lymphocyte', 'upper', 'lower', 'centre', 'dividing', 'field']) {
    expect(domain.has(w)).toBe(true);
    expect(general.has(w)).toBe(false);
  }
  for (const w of ['shape', 'shapes', 'background', 'top', 'bottom', 'middle', 'picture']) {
    expect(general.has(w)).toBe(true);
    expect(domain.has(w)).toBe(false);
  }
});

test('a world appears only once complete: an interrupted build leaves nothing; a damaged world is rebuilt; a foreign folder is refused', async () => {
  const dir = path.join(tempDir('world'), 'w');
  // what a killed run leaves: a partial build named after a process that no longer exists
  fs.mkdirSync(path.join(path.dirname(dir), 'w.partial-2147483646-0'));
  const stop = (p: { part: string }) => {
    if (p.part === 'domain') throw new Error('interrupted');
  };
  await expect(generateWorld({ dir, ...small, onProgress: stop })).rejects.toThrow('interrupted');
  expect(fs.existsSync(dir)).toBe(false);
  expect(fs.readdirSync(path.dirname(dir))).toEqual([]);

  const built = await generateWorld({ dir, ...small });
  expect((await generateWorld({ dir, ...small })).reused).toBe(true);
  fs.writeFileSync(path.join(dir, 'domain/images/d_000003.png'), 'damaged');
  const rebuilt = await generateWorld({ dir, ...small });
  expect(rebuilt.reused).toBe(false);
  expect(rebuilt.hash).toBe(built.hash);
  expect(fs.readdirSync(path.dirname(dir))).toEqual(['w']);

  const foreign = tempDir('world');
  fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
  await expect(generateWorld({ dir: foreign, ...small })).rejects.toThrow(/refusing to replace/);
  expect(fs.readdirSync(foreign)).toEqual(['notes.txt']);
});
