// `npm run bench:contamination`: comparing training images' perceptual hashes with a benchmark's
// (core/contamination/hash-index.ts): 1,000,000 training hashes against 20,000 benchmark hashes at
// Hamming radius 10 (BENCH_TRAIN, BENCH_BENCHMARK, BENCH_RADIUS), hashing excluded. 1 % of the
// training hashes are planted near copies (0 to 10 bits from a benchmark hash), so the search has
// matches to find; the rest are random. One run; the goal is under 1 minute on 2 cores.
import { HashIndex } from '../core/contamination/hash-index';
import { hamming, type Hash64 } from '../core/contamination/perceptual-hash';
import { PyRandom } from '../core/pyrandom';

const TRAIN = Number(process.env.BENCH_TRAIN ?? 1_000_000);
const BENCH = Number(process.env.BENCH_BENCHMARK ?? 20_000);
const RADIUS = Number(process.env.BENCH_RADIUS ?? 10);

const r = new PyRandom(5);
const rand = (): Hash64 => ({ hi: r.getrandbits(32), lo: r.getrandbits(32) });
const benchmark = Array.from({ length: BENCH }, rand);
const planted = new Set<number>();
const training = Array.from({ length: TRAIN }, (_, i) => {
  if (i % 100 !== 0) return rand();
  planted.add(i);
  const h = { ...benchmark[r.randbelow(BENCH)] };
  for (const b of r.shuffle([...Array(64).keys()]).slice(0, r.randbelow(RADIUS + 1))) {
    if (b < 32) h.lo = (h.lo ^ (1 << b)) >>> 0;
    else h.hi = (h.hi ^ (1 << (b - 32))) >>> 0;
  }
  return h;
});

const t0 = process.hrtime.bigint();
const index = new HashIndex(training);
const built = Number(process.hrtime.bigint() - t0) / 1e9;
const flagged = new Set<number>();
let pairs = 0;
for (const q of benchmark) {
  index.near(q, RADIUS, (id) => {
    flagged.add(id);
    pairs++;
  });
}
const total = Number(process.hrtime.bigint() - t0) / 1e9;
const missed = [...planted].filter((i) => !flagged.has(i)).length;
process.stdout.write(`${TRAIN.toLocaleString('en')} training hashes against ${BENCH.toLocaleString('en')} benchmark hashes, radius ${RADIUS} (node ${process.version})\n`);
process.stdout.write(`index built in ${built.toFixed(2)} s; search done at ${total.toFixed(2)} s: ${pairs} pairs, ${flagged.size} training hashes flagged, ${planted.size - missed} of ${planted.size} planted copies found\n`);
// a spot check against the full scan for a few queries, so a fast wrong answer cannot pass
for (const q of benchmark.slice(0, 3)) {
  const scan = training.filter((h) => hamming(h, q) <= RADIUS).length;
  let found = 0;
  index.near(q, RADIUS, () => found++);
  if (scan !== found) throw new Error(`bench: the index found ${found} and the full scan ${scan} for one query`);
}
