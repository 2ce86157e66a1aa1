// The perceptual hashes and their index (core/contamination/, activities/contamination/): the
// bits on hand-made pixels, the Hamming distance, the hex form, the multi-index search against a
// brute-force scan, and the hashes of real images under a re-encode.
import sharp from 'sharp';
import { imageHashes } from '../../activities/contamination/image-hashes';
import { HashIndex } from '../../core/contamination/hash-index';
import { dctHash, differenceHash, hamming, hashFromHex, hashToHex, type Hash64 } from '../../core/contamination/perceptual-hash';
import { PyRandom } from '../../core/pyrandom';

test('dHash sets a bit where the right neighbour is brighter', () => {
  const rising = Array.from({ length: 72 }, (_, i) => i % 9); // every row brightens left to right
  expect(differenceHash(rising)).toEqual({ hi: 0xffffffff, lo: 0xffffffff });
  const falling = rising.map((v) => 8 - v);
  expect(differenceHash(falling)).toEqual({ hi: 0, lo: 0 });
  expect(() => differenceHash([1, 2, 3])).toThrow(/9×8/);
});

test('pHash ignores brightness and contrast, and sees a mirrored image as far away', () => {
  const r = new PyRandom(3);
  const img = Array.from({ length: 1024 }, () => r.randbelow(256));
  const h = dctHash(img);
  expect(hamming(dctHash(img.map((v) => v * 0.5 + 40)), h)).toBe(0);
  const mirrored = img.map((_, i) => img[Math.floor(i / 32) * 32 + (31 - (i % 32))]);
  expect(hamming(dctHash(mirrored), h)).toBeGreaterThan(16);
  // half the AC coefficients lie above their median: about 32 bits set
  const bits = hashToHex(h).split('').reduce((n, c) => n + [...parseInt(c, 16).toString(2)].filter((b) => b === '1').length, 0);
  expect(bits).toBeGreaterThanOrEqual(28);
  expect(bits).toBeLessThanOrEqual(32);
});

test('Hamming distance and the hex form', () => {
  const a = { hi: 0xf0f0f0f0, lo: 0x00000001 };
  expect(hamming(a, { hi: 0xf0f0f0f0, lo: 0 })).toBe(1);
  expect(hamming(a, { hi: 0x0f0f0f0f, lo: 0xfffffffe })).toBe(64);
  expect(hashToHex(a)).toBe('f0f0f0f000000001');
  expect(hashFromHex(hashToHex(a))).toEqual(a);
  expect(() => hashFromHex('xyz')).toThrow(/not a 64-bit hash/);
});

test('the multi-index search finds exactly what a full scan finds, at every radius up to 11', () => {
  const r = new PyRandom(11);
  const rand = (): Hash64 => ({ hi: r.getrandbits(32), lo: r.getrandbits(32) });
  const flip = (h: Hash64, bits: number): Hash64 => {
    const out = { ...h };
    // `bits` distinct positions: the first of a shuffled 0..63
    for (const b of r.shuffle([...Array(64).keys()]).slice(0, bits)) {
      if (b < 32) out.lo = (out.lo ^ (1 << b)) >>> 0;
      else out.hi = (out.hi ^ (1 << (b - 32))) >>> 0;
    }
    return out;
  };
  const base = Array.from({ length: 300 }, rand);
  // near copies at 0 to 14 bits from a base hash, so every radius has matches and near misses
  const indexed = [...base, ...Array.from({ length: 700 }, (_, i) => flip(base[i % base.length], i % 15))];
  const index = new HashIndex(indexed);
  expect(index.size).toBe(1000);
  for (const radius of [0, 3, 7, 10, 11]) {
    for (const q of base.slice(0, 40)) {
      const found: [number, number][] = [];
      index.near(q, radius, (id, d) => found.push([id, d]));
      const scan = indexed.map((h, id) => [id, hamming(h, q)] as [number, number]).filter(([, d]) => d <= radius);
      expect(found.sort((a, b) => a[0] - b[0])).toEqual(scan);
    }
  }
});

test('an image and its JPEG re-encode hash close together; two different images far apart', async () => {
  const scene = (seed: number) => {
    const r = new PyRandom(seed);
    const shapes = Array.from({ length: 6 }, () => `<circle cx="${r.randbelow(256)}" cy="${r.randbelow(256)}" r="${20 + r.randbelow(40)}" fill="rgb(${r.randbelow(256)},${r.randbelow(256)},${r.randbelow(256)})"/>`);
    return sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256"><rect width="256" height="256" fill="#3a6"/>${shapes.join('')}</svg>`)).png().toBuffer();
  };
  const a = await scene(1);
  const ha = await imageHashes(a);
  const reencoded = await imageHashes(await sharp(a).jpeg({ quality: 60 }).toBuffer());
  const resized = await imageHashes(await sharp(a).resize(128, 128).png().toBuffer());
  const other = await imageHashes(await scene(2));
  for (const k of ['phash', 'dhash'] as const) {
    expect(ha[k]).toMatch(/^[0-9a-f]{16}$/);
    expect(hamming(hashFromHex(reencoded[k]), hashFromHex(ha[k]))).toBeLessThanOrEqual(4);
    expect(hamming(hashFromHex(resized[k]), hashFromHex(ha[k]))).toBeLessThanOrEqual(4);
    expect(hamming(hashFromHex(other[k]), hashFromHex(ha[k]))).toBeGreaterThan(12);
  }
});
