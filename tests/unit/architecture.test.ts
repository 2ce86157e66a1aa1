// The layout is the architecture: workflows import no Node builtins, no Prisma and no
// activity runtime code (types only); core stays pure so workflows can use it; activities
// import nothing from cli/ or workers/ (those wire processes around them), stage folders share
// code only through the shared folders, and the model registry alone writes Model rows; and
// settings come from the environment in one place, the worker's schema (workers/config.ts), or the CLI.
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** Every module a file names: `import … from`, `export … from`, `import 'x'`, `require('x')` and `import('x')`. */
function importsOf(src: string): { spec: string; typeOnly: boolean }[] {
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\s+(type\s+)?(?:[\w$]+\s*,\s*)?(?:[\w$]+|\*(?:\s+as\s+[\w$]+)?|\{[^}]*\})\s+from\s+['"]([^'"]+)['"]/gm)) {
    found.push({ spec: m[2], typeOnly: !!m[1] });
  }
  for (const m of src.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) found.push({ spec: m[1], typeOnly: false });
  for (const m of src.matchAll(/\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ spec: m[1], typeOnly: false });
  return found;
}

const importsOfFile = (file: string) => importsOf(fs.readFileSync(file, 'utf8'));

function filesIn(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { recursive: true }).map(String).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, dir, f));
}

/** The project folder a relative import lands in (cli, workers, …), or null for a package. */
function folderOf(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  return path.relative(root, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
}

test('the import scan sees every form: import, export … from, side effects, require, dynamic import', () => {
  const src = [
    "import a from './a';",
    "import type { B } from './b';",
    "import {\n  c,\n  type C,\n} from './c';",
    "export { d } from './d';",
    "export * from './e';",
    "export type { F } from './f';",
    "import './g';",
    "const h = require('./h');",
    "const i = await import('./i');",
    "export function fromX(): string { return 'from y'; }",
  ].join('\n');
  expect(importsOf(src)).toEqual([
    { spec: './a', typeOnly: false },
    { spec: './b', typeOnly: true },
    { spec: './c', typeOnly: false },
    { spec: './d', typeOnly: false },
    { spec: './e', typeOnly: false },
    { spec: './f', typeOnly: true },
    { spec: './g', typeOnly: false },
    { spec: './h', typeOnly: false },
    { spec: './i', typeOnly: false },
  ]);
});

test('workflows import only the workflow SDK, core and each other (activities as types)', () => {
  const bad: string[] = [];
  for (const f of filesIn('workflows')) {
    for (const { spec, typeOnly } of importsOfFile(f)) {
      const allowed = spec === '@temporalio/workflow' || spec === '@temporalio/common' || spec.startsWith('./') || spec.startsWith('../core/') || (typeOnly && spec.startsWith('../activities'));
      if (!allowed) bad.push(`${path.relative(root, f)} imports ${typeOnly ? 'type ' : ''}${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test("the demo's workflow imports only the workflow SDK, core and the demo's pure progress module (the rest as types)", () => {
  const bad: string[] = [];
  for (const f of filesIn(path.join('demo', 'workflows'))) {
    for (const { spec, typeOnly } of importsOfFile(f)) {
      const allowed = typeOnly || spec === '@temporalio/workflow' || spec === '@temporalio/common' || spec.startsWith('./') || spec.startsWith('../../core/') || spec === '../progress';
      if (!allowed) bad.push(`${path.relative(root, f)} imports ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

// the packages core may use: validation, and stdlib's distributions (pure numerics, no I/O)
const CORE_PACKAGES = [/^zod$/, /^@stdlib\/stats-base-dists-[\w-]+$/];

test('core has no I/O: no Node builtins, no database, no Temporal runtime', () => {
  const bad: string[] = [];
  for (const f of filesIn('core')) {
    for (const { spec } of importsOfFile(f)) {
      if (!(CORE_PACKAGES.some((p) => p.test(spec)) || spec.startsWith('./') || spec.startsWith('../'))) bad.push(`${path.relative(root, f)} imports ${spec}`);
      if (spec.startsWith('../') && !path.resolve(path.dirname(f), spec).startsWith(path.join(root, 'core'))) bad.push(`${path.relative(root, f)} reaches outside core: ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test('activities import nothing from cli/ or workers/ (not even types): they wire processes around activities', () => {
  const bad: string[] = [];
  for (const f of filesIn('activities')) {
    for (const { spec } of importsOfFile(f)) {
      const folder = folderOf(f, spec);
      if (folder === 'cli' || folder === 'workers') bad.push(`${path.relative(root, f)} imports ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

// One home per concern: stage folders share code only through the shared folders (stage/ for
// the stage machinery, trainer/ for the trainer driver, benchmarks/ for benchmark files,
// inference/, model-registry/, db/, store/, hashing/, bookkeeping/, contamination/). A helper one stage takes from another (the train stage once took
// upsertModel from evaluate/, trainModel once ran the train stage's trainer) belongs in one of those.
const STAGE_FOLDERS = ['ingest', 'synthesize', 'filter', 'compose', 'export', 'train', 'evaluate', 'report', 'train-model'];

test('a stage folder imports no other stage folder', () => {
  const bad: string[] = [];
  for (const f of filesIn('activities')) {
    const from = path.relative(path.join(root, 'activities'), f).split(path.sep)[0];
    if (!STAGE_FOLDERS.includes(from)) continue;
    for (const { spec } of importsOfFile(f)) {
      if (!spec.startsWith('.')) continue;
      const to = path.relative(path.join(root, 'activities'), path.resolve(path.dirname(f), spec)).split(path.sep)[0];
      if (to !== from && STAGE_FOLDERS.includes(to)) bad.push(`${path.relative(root, f)} imports ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test('Model rows are written by the model registry (activities/model-registry/) only', () => {
  const files = ['activities', 'cli', 'demo', 'workers', 'bench', 'samples'].flatMap(filesIn);
  const bad = files
    .filter((f) => !path.relative(root, f).startsWith(path.join('activities', 'model-registry') + path.sep))
    .filter((f) => /\.model\.(upsert|create|createMany)\(/.test(fs.readFileSync(f, 'utf8')))
    .map((f) => path.relative(root, f));
  expect(bad).toEqual([]);
});

// The three wings: the product (core, workflows, activities, workers, cli), the demo (demo/: its
// world, arms, comparison and diagnostics) and the data and programs around them (samples/: test
// and benchmark data; bench/: throughput benchmarks). The product may be used by the others, never
// the other way round; the CLI alone wires the demo in as a command.
test('the product imports nothing from demo/, samples/ or bench/', () => {
  const bad: string[] = [];
  for (const f of ['core', 'workflows', 'activities', 'workers'].flatMap(filesIn)) {
    for (const { spec } of importsOfFile(f)) {
      const folder = folderOf(f, spec);
      if (folder === 'demo' || folder === 'samples' || folder === 'bench') bad.push(`${path.relative(root, f)} imports ${spec}`);
    }
  }
  expect(bad).toEqual([]);
});

test('samples/ and bench/ import nothing from demo/: test data and benchmarks stand without the demo', () => {
  const bad: string[] = [];
  for (const f of ['samples', 'bench'].flatMap(filesIn)) {
    for (const { spec } of importsOfFile(f)) if (folderOf(f, spec) === 'demo') bad.push(`${path.relative(root, f)} imports ${spec}`);
  }
  expect(bad).toEqual([]);
});

// Where the environment may be read. Everything else gets its settings as arguments or
// dependencies (ActivityDeps), from the schema workers/config.ts parses once at start.
const ENV_READERS: Record<string, string> = {
  'workers/config.ts': "the worker's environment schema: the one place a worker reads its settings",
  'cli/': "the user's command: its own options (DATABASE_URL, TEMPORAL_ADDRESS, ADAMLLM_STATE_DIR) and the stack it starts, which parses the worker schema",
  'workers/threads.ts': "sets libuv's UV_THREADPOOL_SIZE before the pool starts, which is before any config could be parsed (libuv's setting, not ours)",
  'prisma.config.ts': "Prisma's CLI configuration (migrate): DATABASE_URL as Prisma's tooling reads it",
  'bench/': 'benchmarks are programs of their own: their BENCH_* knobs, and the environment of the workers they start',
  'demo/diagnostics/': "the demo's diagnostic tools are programs of their own, like benchmarks (the onnx device to probe on)",
  'tests/': "the global setup hands the services' coordinates to tests through the environment, and tests set the environment of the processes they start",
};

test('process.env is read only by the worker schema and the CLI (and the allow-listed programs around them)', () => {
  const files = [...['activities', 'core', 'workflows', 'workers', 'cli', 'demo', 'bench', 'samples', 'tests'].flatMap(filesIn), path.join(root, 'prisma.config.ts')];
  const bad: string[] = [];
  for (const f of files) {
    const rel = path.relative(root, f).split(path.sep).join('/');
    if (Object.keys(ENV_READERS).some((allowed) => (allowed.endsWith('/') ? rel.startsWith(allowed) : rel === allowed))) continue;
    // A spread forwards the whole environment to a child process (the trainer inherits CUDA,
    // Hugging Face caches, proxies) as spawn without `env` would: it names no variable, so reads no setting.
    const src = fs.readFileSync(f, 'utf8').replace(/\.\.\.process\.env\b/g, '');
    for (const [i, line] of src.split('\n').entries()) if (/\bprocess\.env\b/.test(line)) bad.push(`${rel}:${i + 1} ${line.trim()}`);
  }
  expect(bad).toEqual([]);
});

/** The project file a relative import names (a .ts file or a folder's index.ts), or null. */
function resolved(file: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(file), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f)) ?? null;
}

test('no import cycles anywhere, type imports included: a shared type lives beside what both sides import', () => {
  const files = ['activities', 'bench', 'cli', 'core', 'demo', 'samples', 'tests', 'workers', 'workflows'].flatMap(filesIn);
  const edges = new Map(files.map((f) => [f, importsOfFile(f).map((i) => resolved(f, i.spec)).filter((t): t is string => t !== null)]));
  // depth-first search; a back edge to a file still on the path closes a cycle
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const visit = (f: string, trail: string[]) => {
    state.set(f, 'open');
    for (const t of edges.get(f) ?? []) {
      if (state.get(t) === 'open') cycles.push([...trail.slice(trail.indexOf(t)), f, t].map((x) => path.relative(root, x)).join(' → '));
      else if (!state.has(t) && edges.has(t)) visit(t, [...trail, f]);
    }
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f, []);
  expect(cycles).toEqual([]);
  // the search sees the project's imports at all
  expect([...edges.values()].reduce((n, e) => n + e.length, 0)).toBeGreaterThan(500);
});
