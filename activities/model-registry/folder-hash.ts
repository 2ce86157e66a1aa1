// A folder's content hash: a model folder's revision (cache keys, Model rows) and an exported
// folder's artifact sha256. sha256 over `name \0 contents \0` for every file, in sorted order of
// their paths relative to the folder. Contents are streamed, so a multi-gigabyte safetensors
// shard (fs.readFile refuses files over 2 GiB) hashes in bounded memory; the digest is the one
// whole-file reads gave, so revisions recorded before stay valid.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

// Larger reads than the stream default (64 KiB): fewer syscalls and hash updates per gigabyte.
const CHUNK = 4 * 1024 * 1024;

async function streamInto(hash: Hash, file: string): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) hash.update(chunk as Buffer);
}

/** sha256 over the folder's file names and contents, streamed file by file. */
export async function folderHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await fs.readdir(dir, { recursive: true })).map(String).sort();
  for (const f of files) {
    const p = path.join(dir, f);
    if (!(await fs.stat(p)).isFile()) continue;
    hash.update(f).update('\0');
    await streamInto(hash, p);
    hash.update('\0');
  }
  return hash.digest('hex');
}
