// The dataset of `npm run bench:scale`: N items in the paper's ShareGPT format, each with its
// own tiny image and its own caption, generated once into a cache folder and reused.
//
// Every image is distinct (its index is written into its first pixel), so ingest's image
// dedup (on by default) runs at full size and filters nothing: the benchmark measures the
// default settings, not a dataset shaped to skip work. The PNGs are encoded here with zlib
// rather than sharp: a million sharp encodes would take longer than the run they feed, and
// an 8×8 RGB PNG is a few lines of bytes.
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import zlib from 'node:zlib';
import { PyRandom } from '../core/pyrandom';
import { sampleCaption } from '../samples/generate';

const SIDE = 8;
/** images per folder: a million files in one folder make every lookup slow */
const PER_DIR = 1000;

export interface ScaleDataset {
  dir: string;
  annotationFile: string;
  imageRoot: string;
  items: number;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IHDR = (() => {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(SIDE, 0);
  h.writeUInt32BE(SIDE, 4);
  h[8] = 8; // bit depth
  h[9] = 2; // RGB
  return chunk('IHDR', h);
})();
const IEND = chunk('IEND', Buffer.alloc(0));

/** An 8×8 RGB PNG unique to `index` (< 2^24): the first pixel is the index, the rest a gradient. */
export function tinyPng(index: number): Buffer {
  const raw = Buffer.alloc(SIDE * (1 + SIDE * 3));
  for (let y = 0; y < SIDE; y++) {
    const row = y * (1 + SIDE * 3); // filter byte 0 (none) at the start of each row
    for (let x = 0; x < SIDE; x++) {
      const p = row + 1 + x * 3;
      raw[p] = (index * 7 + x * 31) & 0xff;
      raw[p + 1] = (index * 13 + y * 29) & 0xff;
      raw[p + 2] = ((x + y) * 16) & 0xff;
    }
  }
  raw[1] = index & 0xff;
  raw[2] = (index >>> 8) & 0xff;
  raw[3] = (index >>> 16) & 0xff;
  return Buffer.concat([SIGNATURE, IHDR, chunk('IDAT', zlib.deflateSync(raw)), IEND]);
}

export const imageName = (i: number) => `${String(Math.floor(i / PER_DIR)).padStart(4, '0')}/${String(i).padStart(7, '0')}.png`;

/** A caption unique to `i`: the sample generator's words, with the plate number in the first sentence. */
export function scaleCaption(i: number): string {
  return `Plate ${i}: ${sampleCaption(new PyRandom(i))}`;
}

/** The cached dataset for `items`, generated when missing (a `complete` marker says it is whole). */
export async function scaleDataset(dir: string, items: number, log: (s: string) => void): Promise<ScaleDataset> {
  const ds: ScaleDataset = { dir, annotationFile: path.join(dir, 'annotations.json'), imageRoot: path.join(dir, 'images'), items };
  const marker = path.join(dir, 'complete');
  try {
    await fs.access(marker);
    return ds;
  } catch {
    // generate below
  }
  const t0 = performance.now();
  log(`generating ${items} items (8×8 PNGs, ShareGPT annotations) in ${dir}`);
  await fs.mkdir(ds.imageRoot, { recursive: true });
  const out = createWriteStream(ds.annotationFile);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('[\n');
  for (let i = 0; i < items; i++) {
    const name = imageName(i);
    if (i % PER_DIR === 0) await fs.mkdir(path.join(ds.imageRoot, path.dirname(name)), { recursive: true });
    await fs.writeFile(path.join(ds.imageRoot, name), tinyPng(i));
    const row = { images: [name], messages: [{ role: 'user', content: '<image>\nDescribe the image.' }, { role: 'assistant', content: scaleCaption(i) }] };
    await write(`${i === 0 ? '' : ',\n'}${JSON.stringify(row)}`);
    if ((i + 1) % 100_000 === 0) log(`  ${i + 1} items`);
  }
  await write('\n]\n');
  out.end();
  await once(out, 'finish');
  await fs.writeFile(marker, `${items}\n`);
  log(`generated in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return ds;
}
