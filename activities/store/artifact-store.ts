// The artifact store: a local folder by default. Files are written to a temporary name and
// renamed, so a crash never leaves a half-written artifact under its final name.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export interface StoredFile {
  uri: string;
  path: string;
  sha256: string;
  bytes: number;
}

export class ArtifactStore {
  constructor(readonly root: string) {}

  /** Folder for one run's stage outputs. */
  runDir(runId: string, stage: string): string {
    return path.join(this.root, 'runs', runId, stage);
  }

  /** Writes `produce`'s output to `target` atomically and returns its hash and size. */
  async writeAtomic(target: string, produce: (tmpPath: string) => Promise<void>): Promise<StoredFile> {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
    try {
      await produce(tmp);
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return describeFile(target);
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function describeFile(file: string): Promise<StoredFile> {
  const [sha256, stat] = await Promise.all([sha256File(file), fs.stat(file)]);
  return { uri: `file://${path.resolve(file)}`, path: path.resolve(file), sha256, bytes: stat.size };
}
