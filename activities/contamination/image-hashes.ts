// The perceptual hashes of one image (core/contamination/perceptual-hash.ts), from its bytes or
// file: flattened on white, grey, a uniform border trimmed (a frame added around a benchmark image
// must not hide it), then shrunk to the hashes' sizes.
import sharp from 'sharp';
import { DHASH_SIZE, PHASH_SIZE, dctHash, differenceHash, hashToHex } from '../../core/contamination/perceptual-hash';

export interface ImageHashes {
  /** pHash, 16 hex digits */
  phash: string;
  /** dHash, 16 hex digits */
  dhash: string;
}

/** Grey pixels with a uniform border cut away (the whole image where trimming would leave nothing). */
async function trimmedGrey(input: Buffer | string): Promise<Buffer> {
  const grey = await sharp(input, { failOn: 'error' }).flatten({ background: '#ffffff' }).grayscale().png().toBuffer();
  try {
    return await sharp(grey).trim({ threshold: 12 }).toBuffer();
  } catch {
    return grey; // a uniform image: nothing to trim
  }
}

// one grey channel whatever the trimmed PNG came back as
const rawOf = (img: Buffer, width: number, height: number) => sharp(img).resize(width, height, { fit: 'fill', kernel: 'lanczos3' }).extractChannel(0).raw().toBuffer();

export async function imageHashes(input: Buffer | string): Promise<ImageHashes> {
  const img = await trimmedGrey(input);
  const [p, d] = await Promise.all([rawOf(img, PHASH_SIZE, PHASH_SIZE), rawOf(img, DHASH_SIZE.width, DHASH_SIZE.height)]);
  return { phash: hashToHex(dctHash(p)), dhash: hashToHex(differenceHash(d)) };
}
