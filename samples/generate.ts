// Builds a small domain dataset on the spot (no downloads): food photos drawn as shapes,
// captions from word lists, in any of the three ingest formats. With `bad: true` it mixes
// in the failures ingest must catch: corrupt, truncated, zero-byte, non-image, missing,
// path-escaping, oversize, duplicate images and empty captions.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PyRandom } from '../core/pyrandom';

const DISHES = ['tomato soup', 'mushroom risotto', 'apple pie', 'caesar salad', 'beef stew', 'pancakes', 'sushi rolls', 'lentil curry', 'fried rice', 'fish tacos', 'lasagna', 'miso ramen'];
const SIDES = ['slices of bread', 'lemon wedges', 'boiled eggs', 'cherry tomatoes', 'spring rolls', 'grilled peppers', 'dumplings', 'olives'];
const PLACES = ['on a wooden table', 'on a white plate', 'in a ceramic bowl', 'on a metal tray', 'beside a glass of water', 'on a picnic blanket'];
const DETAILS = ['The dish is garnished with fresh basil.', 'Steam rises from the hot food.', 'A fork and knife rest beside the plate.', 'The sauce is thick and glossy.', 'Chopped herbs are sprinkled over the top.', 'The portion looks generous.'];
const COUNTS = ['two', 'three', 'four', 'five'];

export type SampleFormat = 'sharegpt' | 'jsonl' | 'csv';

export interface SampleOptions {
  dir: string;
  count: number;
  format?: SampleFormat;
  seed?: number;
  bad?: boolean;
  /** smallest image side in pixels; sides vary up to about twice this */
  side?: number;
  /** an oversize image is this many pixels wide and high (header-only check; compresses small) */
  oversizeSide?: number;
}

export interface SampleManifest {
  annotationFile: string;
  imageRoot: string;
  format: SampleFormat;
  rows: number;
  /** expected ingest outcome per reason (the key before the colon) */
  expected: { accepted: number; failed: Record<string, number>; filtered: Record<string, number>; synthFiltered: number; duplicateTasks: number };
}

interface Row {
  image: string;
  caption: string;
}

export function sampleCaption(r: PyRandom): string {
  const dish = r.choice(DISHES);
  return `A serving of ${dish} with ${r.choice(COUNTS)} ${r.choice(SIDES)} ${r.choice(PLACES)}. ${r.choice(DETAILS)}`;
}

async function drawImage(r: PyRandom, file: string, side = 96): Promise<void> {
  const step = Math.max(1, Math.round(side / 12));
  const w = side + step * r.randbelow(12);
  const h = side + step * r.randbelow(12);
  const color = () => `rgb(${r.randbelow(256)},${r.randbelow(256)},${r.randbelow(256)})`;
  const shapes = Array.from({ length: 3 + r.randbelow(4) }, () =>
    r.randbelow(2)
      ? `<circle cx="${r.randbelow(w)}" cy="${r.randbelow(h)}" r="${8 + r.randbelow(30)}" fill="${color()}"/>`
      : `<rect x="${r.randbelow(w)}" y="${r.randbelow(h)}" width="${10 + r.randbelow(40)}" height="${10 + r.randbelow(40)}" fill="${color()}"/>`,
  ).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><rect width="100%" height="100%" fill="${color()}"/>${shapes}</svg>`;
  const img = sharp(Buffer.from(svg));
  await (file.endsWith('.png') ? img.png() : img.jpeg({ quality: 85 })).toFile(file);
}

export async function generateSample(o: SampleOptions): Promise<SampleManifest> {
  const format = o.format ?? 'sharegpt';
  const imageRoot = path.join(o.dir, 'images');
  await fs.mkdir(imageRoot, { recursive: true });
  const rows: Row[] = [];
  const failed: Record<string, number> = {};
  const filtered: Record<string, number> = {};
  const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);
  for (let i = 0; i < o.count; i++) {
    const r = new PyRandom((o.seed ?? 0) * 1_000_003 + i);
    const name = `img_${String(i).padStart(6, '0')}.${i % 5 === 4 ? 'png' : 'jpg'}`;
    await drawImage(r, path.join(imageRoot, name), o.side);
    rows.push({ image: name, caption: sampleCaption(r) });
  }
  let tricky = { synthFiltered: 0, duplicateTasks: 0 };
  if (o.bad) {
    // Valid images whose captions the later stages must handle: one too short for any rule,
    // two identical captions that yield the same task (the second is a duplicate).
    const extra = new PyRandom(2 ** 40 + (o.seed ?? 0)); // a stream no drawn image uses
    for (const [image, caption] of [['img_short.jpg', 'Soup.'], ['img_dup_a.jpg', 'A bowl of soup'], ['img_dup_b.jpg', 'A bowl of soup']]) {
      await drawImage(extra, path.join(imageRoot, image));
      rows.push({ image, caption });
    }
    tricky = { synthFiltered: 1, duplicateTasks: 1 };
    const add = async (image: string, caption: string, reason: string, write?: (f: string) => Promise<void>) => {
      if (write) await write(path.join(imageRoot, image));
      rows.push({ image, caption });
      bump(failed, reason);
    };
    const good = await fs.readFile(path.join(imageRoot, rows[0].image));
    const scrambled = Buffer.from(good);
    for (let i = Math.floor(good.length / 2); i < good.length - 10; i += 5) scrambled[i] ^= 0x55;
    await add('bad_corrupt.jpg', 'Scrambled scan data.', 'corrupt image', (f) => fs.writeFile(f, scrambled));
    await add('bad_truncated.jpg', 'Half an image.', 'corrupt image', (f) => fs.writeFile(f, good.subarray(0, Math.floor(good.length / 2))));
    await add('bad_zero.jpg', 'Nothing at all.', 'empty file', (f) => fs.writeFile(f, Buffer.alloc(0)));
    await add('bad_text.png', 'A text file.', 'not an image', (f) => fs.writeFile(f, 'this is not a picture\n'));
    await add('does_not_exist.jpg', 'A missing image.', 'image file not found');
    await add('../outside.jpg', 'Escapes by dot-dot.', 'path escapes the image root');
    await add(path.resolve(imageRoot, rows[1].image), 'Absolute path.', 'path escapes the image root');
    await fs.writeFile(path.join(o.dir, 'secret.jpg'), good);
    await add('bad_link.jpg', 'A link to outside.', 'path escapes the image root', (f) => fs.symlink(path.join(o.dir, 'secret.jpg'), f));
    const side = o.oversizeSide ?? 9000;
    await add('bad_oversize.png', 'A huge image.', 'oversize image', (f) =>
      sharp({ create: { width: side, height: side, channels: 3, background: '#ffffff' } }).png({ compressionLevel: 9 }).toFile(f).then(() => undefined),
    );
    rows.push({ image: rows[2].image, caption: 'The same picture again.' });
    bump(filtered, 'duplicate image');
    rows.push({ image: rows[3].image, caption: '' });
    bump(failed, 'empty caption');
  }
  const annotationFile = path.join(o.dir, `annotations.${format === 'sharegpt' ? 'json' : format}`);
  await fs.writeFile(annotationFile, render(rows, format));
  const total = Object.values(failed).reduce((a, b) => a + b, 0) + Object.values(filtered).reduce((a, b) => a + b, 0);
  return { annotationFile, imageRoot, format, rows: rows.length, expected: { accepted: rows.length - total, failed, filtered, ...tricky } };
}

function render(rows: Row[], format: SampleFormat): string {
  if (format === 'jsonl') return rows.map((r) => JSON.stringify({ image: r.image, caption: r.caption })).join('\n') + '\n';
  if (format === 'csv') {
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    return ['image,caption', ...rows.map((r) => `${q(r.image)},${q(r.caption)}`)].join('\n') + '\n';
  }
  return JSON.stringify(
    rows.map((r) => ({
      images: [r.image],
      messages: [
        { role: 'user', content: '<image>Describe the dish in this photo.' },
        { role: 'assistant', content: r.caption },
      ],
    })),
    null,
    1,
  );
}
