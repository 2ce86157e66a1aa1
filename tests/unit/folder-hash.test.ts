// folderHash streams file contents: a folder holding a file over 2 GiB (fs.readFile's limit)
// hashes, and any folder gets the digest the earlier whole-file reads gave (recorded model
// revisions and cache keys stay valid).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { folderHash } from '../../activities/model-registry/folder-hash';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'folder-hash-'));

/** The format as it was first written: whole-file reads, `name \0 contents \0`, sorted paths. */
async function wholeFileHash(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const f of (await fsp.readdir(dir, { recursive: true })).map(String).sort()) {
    const p = path.join(dir, f);
    if (!(await fsp.stat(p)).isFile()) continue;
    hash.update(f).update('\0').update(await fsp.readFile(p)).update('\0');
  }
  return hash.digest('hex');
}

test('a small nested folder hashes as the whole-file format did', async () => {
  const dir = tmp();
  try {
    fs.mkdirSync(path.join(dir, 'onnx'));
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model_type": "qwen2_vl"}\n');
    fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251)));
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    expect(await folderHash(dir)).toBe(await wholeFileHash(dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder with a 3 GiB file hashes without reading it whole', async () => {
  const dir = tmp();
  try {
    // sparse: 3 GiB of zeros that take no disk space
    const big = path.join(dir, 'weights.bin');
    fs.writeFileSync(big, '');
    await fsp.truncate(big, 3 * 1024 ** 3);
    fs.writeFileSync(path.join(dir, 'z-small.txt'), 'tail\n');
    await expect(fsp.readFile(big)).rejects.toThrow(); // what the whole-file format ran into
    // sha256(b"weights.bin\0" + 3 GiB of zeros + b"\0" + b"z-small.txt\0" + b"tail\n" + b"\0"),
    // computed once with Python's hashlib
    expect(await folderHash(dir)).toBe('e74cf7860c83a9cd26921d33709bd85236a63120418dbe03f8bee3e01ff31488');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
