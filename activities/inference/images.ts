// Images as the model stages send them: references that load (and, for evaluation, prepare) the
// bytes only when their request goes out, so a shard of thousands of queued requests holds no
// pixels and preparation runs as concurrently as requests do (sharp works on libuv's pool).
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '../hashing/canonical-json';
import { ImageUnusable, type ImageRef } from './backend';

const sha256 = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * An ingested image, sent as stored: its bytes are what ingest hashed (`sha`), already in the
 * dataset's own compact encoding, and a server reading local media gets its path.
 */
export function datasetImage(file: string, sha: string | null): ImageRef {
  return {
    sha256: sha ?? sha256(`path:${file}`),
    load: async () => {
      try {
        return new Uint8Array(await fs.readFile(file));
      } catch (e) {
        throw new ImageUnusable(`image unreadable: ${(e as Error).message}`);
      }
    },
    file: async () => file,
  };
}

/**
 * An image prepared on demand by `prepare` from raw bytes (`rawSha` identifies them; `how` names
 * everything the preparation depends on, so the reference's hash changes with it). A server that
 * reads local media gets the prepared file, written once under `mediaDir` by its hash.
 */
export function preparedImage(raw: () => Promise<Uint8Array>, rawSha: string, how: object, prepare: (b: Uint8Array) => Promise<{ bytes: Uint8Array; ext: string }>, mediaDir: string): ImageRef {
  let done: Promise<{ bytes: Uint8Array; ext: string }> | undefined;
  const prepared = () =>
    (done ??= (async () => {
      let b: Uint8Array;
      try {
        b = await raw();
      } catch (e) {
        throw new ImageUnusable(`image unreadable: ${(e as Error).message}`);
      }
      try {
        return await prepare(b);
      } catch (e) {
        throw new ImageUnusable(`image unusable: ${(e as Error).message}`);
      }
    })());
  const ref: ImageRef = {
    sha256: sha256(canonicalJson({ raw: rawSha, how })),
    load: async () => (await prepared()).bytes,
    file: async () => {
      const p = await prepared();
      const target = path.join(mediaDir, `${ref.sha256}.${p.ext}`);
      try {
        await fs.access(target);
      } catch {
        await fs.mkdir(mediaDir, { recursive: true });
        const tmp = `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
        await fs.writeFile(tmp, p.bytes);
        await fs.rename(tmp, target);
      }
      return target;
    },
  };
  return ref;
}
