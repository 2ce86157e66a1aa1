// Image checks at ingest: size, format, pixel count from the header (a decompression-bomb
// guard before any decoding), then a full decode that fails on truncated or corrupt data.
// The content hash dedups identical images across the dataset.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import type { TIngestSettings } from '../../core/spec';
import { confinePath } from './confine';

export type ImageCheck =
  | { ok: true; resolvedPath: string; sha256: string; format: string; width: number; height: number; bytes: number }
  | { ok: false; reason: string; resolvedPath?: string };

// Ingest never processes the same image twice in a row, so libvips' operation cache only
// costs memory and time (about 10% of decode throughput measured with bench:ingest).
sharp.cache(false);

type Limits = Pick<TIngestSettings, 'maxPixels' | 'maxBytes' | 'minSide' | 'formats' | 'failOn'>;

export async function checkImage(realRoot: string, rel: string, limits: Limits): Promise<ImageCheck> {
  const confined = await confinePath(realRoot, rel);
  if (!confined.ok) return confined;
  const file = confined.path;
  const stat = await fs.stat(file);
  if (!stat.isFile()) return { ok: false, reason: `not a regular file: ${rel}`, resolvedPath: file };
  if (stat.size === 0) return { ok: false, reason: 'empty file: 0 bytes', resolvedPath: file };
  if (stat.size > limits.maxBytes) return { ok: false, reason: `file too large: ${stat.size} bytes > ${limits.maxBytes}`, resolvedPath: file };

  const buf = await fs.readFile(file);
  const sha256 = createHash('sha256').update(buf).digest('hex');
  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch {
    return { ok: false, reason: 'not an image: unrecognised or unsupported format', resolvedPath: file };
  }
  const format = meta.format ?? 'unknown';
  if (!(limits.formats as string[]).includes(format)) {
    return { ok: false, reason: `format not allowed: ${format}`, resolvedPath: file };
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (width * height > limits.maxPixels) {
    return { ok: false, reason: `oversize image: ${width}x${height} = ${width * height} pixels > ${limits.maxPixels}`, resolvedPath: file };
  }
  if (Math.min(width, height) < limits.minSide) {
    return { ok: false, reason: `image too small: ${width}x${height}, min side ${limits.minSide}`, resolvedPath: file };
  }
  try {
    // The pixel limit guards the decode itself; see ZIngestSettings.failOn for the strictness.
    await sharp(buf, { failOn: limits.failOn, limitInputPixels: limits.maxPixels }).raw().toBuffer();
  } catch (err) {
    return { ok: false, reason: `corrupt image: ${firstLine((err as Error).message)}`, resolvedPath: file };
  }
  return { ok: true, resolvedPath: file, sha256, format, width, height, bytes: stat.size };
}

function firstLine(s: string): string {
  return s.split('\n')[0].slice(0, 200);
}
