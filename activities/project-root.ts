// Where the project's own files live (the trainer package, its venv, the tiny models), whether
// running from source (tsx, jest) or dist/. Here, not in cli/, because activities need it and
// import nothing from cli/ or workers/ (tests/unit/architecture.test.ts).
import fs from 'node:fs';
import path from 'node:path';

let root: string | undefined;

/** The folder holding adamllm's package.json. */
export function projectRoot(): string {
  if (root) return root;
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && JSON.parse(fs.readFileSync(pkg, 'utf8')).name === 'adamllm') return (root = dir);
  }
  throw new Error('cannot find the adamllm project folder');
}
