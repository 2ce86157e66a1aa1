// Perceptual hashes of an image, for finding training images that are benchmark images after a
// re-encode, a resize, a small crop or a border: 64-bit fingerprints that move little under such
// changes, compared by Hamming distance. Pure: the caller decodes and shrinks the image (sharp,
// activities/contamination/image-hashes.ts) and passes grayscale pixels.
//   dHash: 9×8 pixels, one bit per horizontally adjacent pair (is the left one darker?);
//   pHash: 32×32 pixels, the 2-D DCT-II, the 8×8 lowest frequencies without the DC term, one bit
//          per coefficient (above their median?).
// A hash is two 32-bit halves (hi, lo), so comparing one costs two popcounts and no BigInt.

export interface Hash64 {
  hi: number;
  lo: number;
}

export const DHASH_SIZE = { width: 9, height: 8 } as const;
export const PHASH_SIZE = 32;

function setBit(h: Hash64, bit: number): void {
  if (bit < 32) h.lo = (h.lo | (1 << bit)) >>> 0;
  else h.hi = (h.hi | (1 << (bit - 32))) >>> 0;
}

/** dHash from 9×8 grayscale pixels, row by row. */
export function differenceHash(pixels: ArrayLike<number>): Hash64 {
  const { width, height } = DHASH_SIZE;
  if (pixels.length !== width * height) throw new RangeError(`dHash: ${pixels.length} pixels; it takes ${width}×${height}`);
  const h = { hi: 0, lo: 0 };
  let bit = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width - 1; x++, bit++) if (pixels[y * width + x] < pixels[y * width + x + 1]) setBit(h, bit);
  }
  return h;
}

// cos((2x + 1) u π / 64) for the 32-point DCT-II, computed once
const COS = (() => {
  const t = new Float64Array(PHASH_SIZE * PHASH_SIZE);
  for (let u = 0; u < PHASH_SIZE; u++) for (let x = 0; x < PHASH_SIZE; x++) t[u * PHASH_SIZE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_SIZE));
  return t;
})();

/** pHash from 32×32 grayscale pixels, row by row. */
export function dctHash(pixels: ArrayLike<number>): Hash64 {
  const n = PHASH_SIZE;
  if (pixels.length !== n * n) throw new RangeError(`pHash: ${pixels.length} pixels; it takes ${n}×${n}`);
  // only the 8 lowest frequencies are kept, so only those rows and columns of the DCT are computed
  const rows = new Float64Array(n * 8); // rows[y][v]: the row DCT of row y at frequency v
  for (let y = 0; y < n; y++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let x = 0; x < n; x++) s += pixels[y * n + x] * COS[v * n + x];
      rows[y * 8 + v] = s;
    }
  }
  const coef = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    for (let v = 0; v < 8; v++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += rows[y * 8 + v] * COS[u * n + y];
      coef[u * 8 + v] = s;
    }
  }
  // the DC term says how bright the image is, not what it shows: left out of the median
  const ac = Array.from(coef.subarray(1)).sort((a, b) => a - b);
  const median = (ac[31] + ac[32]) / 2;
  const h = { hi: 0, lo: 0 };
  for (let i = 1; i < 64; i++) if (coef[i] > median) setBit(h, i);
  return h;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

export function hamming(a: Hash64, b: Hash64): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

/** 16 hex digits, as stored with an item. */
export function hashToHex(h: Hash64): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

export function hashFromHex(s: string): Hash64 {
  if (!/^[0-9a-f]{16}$/.test(s)) throw new RangeError(`not a 64-bit hash in hex: ${JSON.stringify(s)}`);
  return { hi: parseInt(s.slice(0, 8), 16) >>> 0, lo: parseInt(s.slice(8), 16) >>> 0 };
}
