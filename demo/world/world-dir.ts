// How a world lands on disk so that no reader ever sees half of one: it is built in a sibling
// folder and renamed into place whole (a rename within a filesystem is atomic), the manifest
// written last inside it. A folder that holds a world.json is therefore complete, and one
// whose files no longer match their recorded hashes is rebuilt, never trusted.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const MANIFEST = 'world.json';

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The world's content hash: over every file's path and hash, in path order (the manifest itself excluded). */
export function contentHash(files: Record<string, string>): string {
  return sha256(
    Object.keys(files)
      .sort()
      .map((rel) => `${rel}\t${files[rel]}\n`)
      .join(''),
  );
}

/** True when every recorded file is there with its recorded bytes. */
export async function filesIntact(dir: string, files: Record<string, string>): Promise<boolean> {
  for (const [rel, hash] of Object.entries(files)) {
    try {
      if (sha256(await fs.readFile(path.join(dir, rel))) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

export async function readJsonIfAny(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Refuses to replace a folder that holds something other than a world (or nothing). */
export async function assertReplaceable(dir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new Error(`world dir ${dir} is not a readable folder: ${(e as Error).message}`);
  }
  if (entries.length > 0 && !entries.includes(MANIFEST)) throw new Error(`world dir ${dir} holds files but no ${MANIFEST}: refusing to replace what this generator did not write`);
}

let partials = 0;

/**
 * A fresh sibling folder to build in, named after this process; those left by processes
 * that have died (an interrupted run) are removed on the way.
 */
export async function freshPartial(dir: string): Promise<string> {
  const parent = path.dirname(dir);
  const stem = `${path.basename(dir)}.partial-`;
  await fs.mkdir(parent, { recursive: true });
  for (const name of await fs.readdir(parent)) {
    const pid = name.startsWith(stem) ? Number(name.slice(stem.length).split('-')[0]) : NaN;
    if (Number.isInteger(pid) && pid !== process.pid && !alive(pid)) await fs.rm(path.join(parent, name), { recursive: true, force: true });
  }
  const tmp = path.join(parent, `${stem}${process.pid}-${partials++}`);
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp);
  return tmp;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Moves the finished build into place; an old world there is moved aside first, then removed. */
export async function install(tmp: string, dir: string): Promise<void> {
  try {
    await fs.rename(tmp, dir); // succeeds when dir is absent or an empty folder
    return;
  } catch (e) {
    if (!['ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  }
  const old = `${dir}.old-${process.pid}-${partials++}`;
  await fs.rename(dir, old);
  await fs.rename(tmp, dir);
  await fs.rm(old, { recursive: true, force: true });
}
