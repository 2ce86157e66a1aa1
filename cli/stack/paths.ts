// Where the project's own tools live, whether running from source (tsx, jest) or dist/.
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../activities/project-root';

export { projectRoot };

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
