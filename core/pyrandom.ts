// CPython's `random.Random` (MT19937) for integer seeds, bit for bit. The method seeds template
// choices, caption-task placement and the evaluation fallback with fresh generators whose
// draws must match the authors' Python (docs/method.md §7.3), so Math.random() will not do.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** A fresh CPython-compatible generator seeded with an integer, as `random.Random(seed)`. */
export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`PyRandom seed must be a safe integer, got ${seed}`);
    this.initByArray(seedKey(seed));
  }

  /** `getrandbits(k)` for 1 <= k <= 32. */
  getrandbits(k: number): number {
    if (!(k >= 1 && k <= 32)) throw new RangeError(`getrandbits supports 1..32 bits, got ${k}`);
    return this.nextUint32() >>> (32 - k);
  }

  /** `random()`: a double in [0, 1) from two 32-bit draws (53 bits). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `_randbelow(n)`: rejection sampling on bit_length(n) bits (not n - 1). */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`randbelow needs a positive integer, got ${n}`);
    if (n > 2 ** 32) throw new RangeError('randbelow supports n <= 2^32');
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `choice(seq)`. */
  choice<T>(seq: readonly T[]): T {
    if (seq.length === 0) throw new RangeError('Cannot choose from an empty sequence');
    return seq[this.randbelow(seq.length)];
  }

  /** `shuffle(x)` in place. */
  shuffle<T>(x: T[]): T[] {
    for (let i = x.length - 1; i >= 1; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
    return x;
  }

  /** `choices(population, weights, k=1)[0]`. */
  weightedChoice<T>(population: readonly T[], weights: readonly number[]): T {
    if (population.length === 0 || population.length !== weights.length) {
      throw new RangeError('weightedChoice needs a non-empty population and one weight per element');
    }
    const cumulative: number[] = [];
    let total = 0;
    for (const w of weights) cumulative.push((total += w));
    const x = this.random() * total;
    // bisect_right(cumulative, x, 0, n - 1)
    let lo = 0;
    let hi = population.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < cumulative[mid]) hi = mid;
      else lo = mid + 1;
    }
    return population[lo];
  }

  private nextUint32(): number {
    const mt = this.mt;
    if (this.index >= N) {
      let kk = 0;
      let y: number;
      for (; kk < N - M; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        y = (mt[kk] & UPPER_MASK) | (mt[kk + 1] & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      y = (mt[N - 1] & UPPER_MASK) | (mt[0] & LOWER_MASK);
      mt[N - 1] = mt[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.index = 0;
    }
    let y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }
}

/** abs(seed) as little-endian 32-bit words; [0] for 0 (CPython's random_seed). */
function seedKey(seed: number): number[] {
  let n = Math.abs(seed);
  if (n === 0) return [0];
  const key: number[] = [];
  while (n > 0) {
    key.push(n % 4294967296);
    n = Math.floor(n / 4294967296);
  }
  return key;
}

function bitLength(n: number): number {
  let k = 0;
  while (n > 0) {
    k++;
    n = Math.floor(n / 2);
  }
  return k;
}
