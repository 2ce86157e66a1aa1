// Image checks at ingest: size and format before anything is decoded, then one full decode
// that itself enforces the pixel limit (libvips reads the header first and refuses a
// decompression bomb before allocating pixels) and the strictness (failOn). The reason of a
// refusal comes from what failed. The content hash dedups identical images across the dataset.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import sharp from 'sharp';
import type { TIngestSettings } from '../../core/spec';
import { confinePath } from './confine';

export type ImageCheck =
  | { ok: true; resolvedPath: string; sha256: string; format: string; width: number; height: number; bytes: number }
  | { ok: false; reason: string; resolvedPath?: string };

// Ingest never processes the same image twice in a row, so libvips' operation cache only
// costs memory and time (about 10% of decode throughput measured with bench:ingest).
sharp.cache(false);
// One libvips thread per image: ingest decodes many images at once (imageConcurrency per shard,
// several shards per worker), each on a libuv threadpool thread (UV_THREADPOOL_SIZE, set in
// workers/threads.ts), so the cores are already busy with whole images; splitting one image
// across threads only adds hand-offs, which cost more than they save at dataset image sizes.
sharp.concurrency(1);

type Limits = Pick<TIngestSettings, 'maxPixels' | 'maxBytes' | 'minSide' | 'formats' | 'failOn'>;

/** The format from the file's first bytes, for the formats sharp decodes and ingest accepts by default. */
export function sniffFormat(b: Uint8Array): string | null {
  const at = (i: number, ...xs: number[]) => xs.every((x, j) => b[i + j] === x);
  const ascii = (i: number, s: string) => at(i, ...Buffer.from(s, 'latin1'));
  if (at(0, 0xff, 0xd8, 0xff)) return 'jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'webp';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'tiff';
  return null; // rare formats (avif, heif, svg, …) are named by libvips below
}

export async function checkImage(realRoot: string, rel: string, limits: Limits): Promise<ImageCheck> {
  const confined = await confinePath(realRoot, rel);
  if (!confined.ok) return confined;
  const file = confined.path;
  const refuse = (reason: string): ImageCheck => ({ ok: false, reason, resolvedPath: file });
  const stat = await fs.stat(file);
  if (!stat.isFile()) return refuse(`not a regular file: ${rel}`);
  if (stat.size === 0) return refuse('empty file: 0 bytes');
  if (stat.size > limits.maxBytes) return refuse(`file too large: ${stat.size} bytes > ${limits.maxBytes}`);

  const buf = await fs.readFile(file);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const format = sniffFormat(buf) ?? (await headerOf(buf))?.format;
  if (!format) return refuse('not an image: unrecognised or unsupported format');
  if (!(limits.formats as string[]).includes(format)) return refuse(`format not allowed: ${format}`);
  let width: number;
  let height: number;
  try {
    // The only decode. The first page of a multi-page image, as before; see
    // ZIngestSettings.failOn for the strictness.
    ({ info: { width, height } } = await sharp(buf, { failOn: limits.failOn, limitInputPixels: limits.maxPixels }).raw().toBuffer({ resolveWithObject: true }));
  } catch (err) {
    return refuse(await decodeFailure(buf, (err as Error).message, limits.maxPixels));
  }
  if (Math.min(width, height) < limits.minSide) return refuse(`image too small: ${width}x${height}, min side ${limits.minSide}`);
  return { ok: true, resolvedPath: file, sha256, format, width, height, bytes: stat.size };
}

/** Header only (no pixels), for naming an unsniffed format or an oversize image's size. */
async function headerOf(buf: Buffer): Promise<{ format?: string; width?: number; height?: number } | null> {
  try {
    return await sharp(buf, { limitInputPixels: false }).metadata();
  } catch {
    return null;
  }
}

/** The reason for a failed decode, from libvips' message: oversize, not an image, or corrupt data. */
async function decodeFailure(buf: Buffer, message: string, maxPixels: number): Promise<string> {
  if (/exceeds pixel limit/i.test(message)) {
    const h = await headerOf(buf);
    const w = h?.width ?? 0;
    const ht = h?.height ?? 0;
    return `oversize image: ${w}x${ht} = ${w * ht} pixels > ${maxPixels}`;
  }
  if (/unsupported image format/i.test(message)) return 'not an image: unrecognised or unsupported format';
  return `corrupt image: ${message.split('\n')[0].slice(0, 200)}`;
}
