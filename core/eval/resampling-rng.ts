// The bootstrap's generator: xoshiro128** (Blackman and Vigna), seeded through splitmix32, with
// CPython's bounded draw (a draw of bit_length(n) bits, rejected while ≥ n). Ten thousand
// resamples of ten thousand rows are a hundred million draws; Mersenne Twister in JavaScript takes
// ~2.4 s for them on the development VM, this ~4 times less. Simple enough that the statistics'
// oracle (tests/oracles/statistics_oracle.py) implements it in a few lines, so both draw the same rows.

/** splitmix32's next output from a state, and the state after it. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [(z ^ (z >>> 16)) >>> 0, s];
}

export class ResamplingRng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new RangeError(`resampling seed must be a whole number from 0 to 2^32 − 1, got ${seed}`);
    let st = seed | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [w, next] = splitmix32(st);
      words.push(w | 0);
      st = next;
    }
    [this.s0, this.s1, this.s2, this.s3] = words;
    // xoshiro's state must not be all zero; splitmix32 never gives four zeros, but say so
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit output (as an int32; `>>> 0` for the unsigned value). */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** `out.length` draws uniform on 0..n−1: the top bit_length(n) bits of an output, rejected while ≥ n. */
  fillBelow(n: number, out: Uint32Array): Uint32Array {
    if (!Number.isInteger(n) || n <= 0 || n >= 2 ** 32) throw new RangeError(`fillBelow needs a whole number from 1 to 2^32 − 1, got ${n}`);
    // keep the top bit_length(n) bits
    const shift = Math.clz32(n);
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    for (let i = 0; i < out.length; ) {
      const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl(s3, 11);
      const r = result >>> shift;
      if (r < n) out[i++] = r;
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    return out;
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));
