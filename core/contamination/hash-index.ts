// Multi-index hashing (Norouzi, Punjani and Fleet, 2012) over 64-bit perceptual hashes: every
// hash within Hamming distance r of a query, without comparing the query to every hash. The 64
// bits are four 16-bit chunks; two hashes within r differ by at most ⌊r/4⌋ bits in at least one
// chunk (pigeonhole), so looking up each chunk's value and its neighbours within ⌊r/4⌋ bits
// (137 keys per chunk at r = 8 to 11) finds every match, and only the candidates those buckets
// hold are compared whole. The tables are flat arrays (counting sort), a few bytes per hash.
import { hamming, type Hash64 } from './perceptual-hash';

const CHUNKS = 4;
const KEYS = 1 << 16;

/** 16-bit masks with at most `bits` bits set: the neighbours of a key are key ^ mask. */
function masksWithin(bits: number): Uint32Array {
  const out: number[] = [];
  for (let m = 0; m < KEYS; m++) {
    let c = 0;
    for (let x = m; x; x &= x - 1) c++;
    if (c <= bits) out.push(m);
  }
  return Uint32Array.from(out);
}

const chunkOf = (hi: number, lo: number, c: number) => (c === 0 ? lo & 0xffff : c === 1 ? lo >>> 16 : c === 2 ? hi & 0xffff : hi >>> 16);

export class HashIndex {
  private readonly hi: Uint32Array;
  private readonly lo: Uint32Array;
  /** per chunk: offsets[key]..offsets[key + 1] index into ids */
  private readonly offsets: Uint32Array[] = [];
  private readonly ids: Uint32Array[] = [];
  private readonly seen: Uint32Array;
  private stamp = 0;
  private readonly masks = new Map<number, Uint32Array>();

  constructor(hashes: readonly Hash64[]) {
    const n = hashes.length;
    this.hi = Uint32Array.from(hashes, (h) => h.hi);
    this.lo = Uint32Array.from(hashes, (h) => h.lo);
    this.seen = new Uint32Array(n);
    for (let c = 0; c < CHUNKS; c++) {
      const counts = new Uint32Array(KEYS + 1);
      for (let i = 0; i < n; i++) counts[chunkOf(this.hi[i], this.lo[i], c) + 1]++;
      for (let k = 0; k < KEYS; k++) counts[k + 1] += counts[k];
      const fill = counts.slice(0, KEYS);
      const ids = new Uint32Array(n);
      for (let i = 0; i < n; i++) ids[fill[chunkOf(this.hi[i], this.lo[i], c)]++] = i;
      this.offsets.push(counts);
      this.ids.push(ids);
    }
  }

  get size(): number {
    return this.hi.length;
  }

  /** Calls `found(id, distance)` once for every indexed hash within `radius` of `q` (ids are the positions given). */
  near(q: Hash64, radius: number, found: (id: number, distance: number) => void): void {
    if (!Number.isInteger(radius) || radius < 0 || radius > 63) throw new RangeError(`hash index: radius ${radius} is not 0 to 63`);
    const per = Math.floor(radius / CHUNKS);
    let masks = this.masks.get(per);
    if (!masks) this.masks.set(per, (masks = masksWithin(per)));
    // a fresh stamp per query marks the candidates already compared (wraps after 4 billion queries)
    this.stamp = this.stamp === 0xffffffff ? 1 : this.stamp + 1;
    if (this.stamp === 1) this.seen.fill(0);
    const stamp = this.stamp;
    const qhi = q.hi >>> 0;
    const qlo = q.lo >>> 0;
    for (let c = 0; c < CHUNKS; c++) {
      const key = chunkOf(qhi, qlo, c);
      const offsets = this.offsets[c];
      const ids = this.ids[c];
      for (let m = 0; m < masks.length; m++) {
        const k = key ^ masks[m];
        for (let j = offsets[k]; j < offsets[k + 1]; j++) {
          const id = ids[j];
          if (this.seen[id] === stamp) continue;
          this.seen[id] = stamp;
          const d = hamming({ hi: this.hi[id], lo: this.lo[id] }, q);
          if (d <= radius) found(id, d);
        }
      }
    }
  }
}
