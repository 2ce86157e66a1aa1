// Where the project's own tools live, whether running from source (tsx, jest) or dist/.
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

/** A binary from the project's virtual environment, else from PATH. */
export function findBinary(name: string, envVar?: string): string {
  const fromEnv = envVar ? process.env[envVar] : undefined;
  if (fromEnv) return fromEnv;
  const local = path.join(projectRoot(), '.venv', 'bin', name);
  if (fs.existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) return p;
  }
  throw new Error(`${name} not found: run scripts/setup.sh (it installs it into .venv) or set ${envVar ?? 'PATH'}`);
}
