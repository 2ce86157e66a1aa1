// The linters as tests, so CI fails on them: ESLint (a floating promise, a sandbox-breaking
// import) over the TypeScript, ruff (ruff.toml: pyflakes, bugbear, sorted imports) over the Python.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const root = path.join(__dirname, '..', '..');

test('eslint reports no problems', async () => {
  const run = await exec(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.', '--format', 'json'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch((e) => e);
  const results: { filePath: string; messages: { line: number; ruleId: string; message: string }[] }[] = JSON.parse(run.stdout);
  const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
  expect(problems).toEqual([]);
}, 120_000);

test('ruff reports no problems in the Python (trainer, benchmarks, demo diagnostics, model build)', async () => {
  // scripts/setup.sh installs ruff into .venv (scripts/requirements-lint.txt)
  const ruff = path.join(root, '.venv', 'bin', 'ruff');
  if (!fs.existsSync(ruff)) throw new Error(`${ruff} is missing: run bash scripts/setup.sh`);
  const run = await exec(ruff, ['check', '.', '--output-format', 'concise'], { cwd: root, maxBuffer: 16 * 1024 * 1024 }).then(
    (ok) => ({ code: 0, out: ok.stdout }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );
  expect(run.out.split('\n').filter((l) => /\.py:\d+:\d+:/.test(l))).toEqual([]);
  expect(run.code).toBe(0);
  // it looked at the Python at all
  const files = await exec(ruff, ['check', '.', '--show-files'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  expect(files.stdout.split('\n').filter((l) => l.endsWith('.py')).length).toBeGreaterThan(20);
}, 120_000);
