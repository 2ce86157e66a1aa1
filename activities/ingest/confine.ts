// Path confinement: an image path from a user's annotation file may not reach outside the
// dataset's image root, neither with "..", an absolute path, nor through a symbolic link.
import fs from 'node:fs/promises';
import path from 'node:path';

export type Confined = { ok: true; path: string } | { ok: false; reason: string };

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Resolves `rel` under `realRoot` (already realpath'd); follows links and re-checks. */
export async function confinePath(realRoot: string, rel: string): Promise<Confined> {
  if (rel === '') return { ok: false, reason: 'missing image path' };
  if (rel.includes('\0')) return { ok: false, reason: 'path escapes the image root: NUL byte in path' };
  if (path.isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel)) return { ok: false, reason: `path escapes the image root: absolute path ${rel}` };
  const joined = path.resolve(realRoot, rel);
  if (!inside(realRoot, joined)) return { ok: false, reason: `path escapes the image root: ${rel}` };
  let real: string;
  try {
    real = await fs.realpath(joined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, reason: `image file not found: ${rel}` };
    return { ok: false, reason: `image file unreadable: ${rel} (${code})` };
  }
  if (!inside(realRoot, real)) return { ok: false, reason: `path escapes the image root: ${rel} links outside it` };
  return { ok: true, path: real };
}
