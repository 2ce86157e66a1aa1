// ESLint as a test, so CI fails on a floating promise or a sandbox-breaking import.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

test('eslint reports no problems', async () => {
  const root = path.join(__dirname, '..', '..');
  const run = await exec(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.', '--format', 'json'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).catch((e) => e);
  const results: { filePath: string; messages: { line: number; ruleId: string; message: string }[] }[] = JSON.parse(run.stdout);
  const problems = results.flatMap((r) => r.messages.map((m) => `${path.relative(root, r.filePath)}:${m.line} ${m.ruleId}: ${m.message}`));
  expect(problems).toEqual([]);
}, 120_000);
