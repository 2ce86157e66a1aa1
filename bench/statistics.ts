// `npm run bench:statistics`: the time of the report's statistics over one benchmark (default
// 10,000 rows, 10,000 resamples; BENCH_ROWS, BENCH_RESAMPLES): the paired cluster bootstrap with
// one question per image and with three, the mean bootstrap, Wilson and McNemar. One run; the
// goal is under 2 s for the 10,000 × 10,000 bootstrap.
import { PyRandom } from '../core/pyrandom';
import { bootstrapMeanInterval, mcnemarExact, pairedClusterBootstrap, wilsonInterval, type PairedRow } from '../core/eval/statistics';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000);
const RESAMPLES = Number(process.env.BENCH_RESAMPLES ?? 10_000);

function rows(perImage: number): PairedRow[] {
  const r = new PyRandom(1);
  return Array.from({ length: ROWS }, (_, i) => ({ cluster: `img-${Math.floor(i / perImage)}`, base: Number(r.random() < 0.4), other: Number(r.random() < 0.45) }));
}

function timed<T>(what: string, f: () => T): T {
  const t0 = process.hrtime.bigint();
  const out = f();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${what.padEnd(58)} ${s.toFixed(3)} s\n`);
  return out;
}

const single = rows(1);
const shared = rows(3);
process.stdout.write(`statistics over ${ROWS.toLocaleString('en')} rows, ${RESAMPLES.toLocaleString('en')} resamples (node ${process.version})\n`);
const a = timed('paired cluster bootstrap, one question per image', () => pairedClusterBootstrap(single, { resamples: RESAMPLES }));
const b = timed('paired cluster bootstrap, three questions per image', () => pairedClusterBootstrap(shared, { resamples: RESAMPLES }));
timed('mean bootstrap (one model)', () => bootstrapMeanInterval(single.map((x) => x.other), { resamples: RESAMPLES }));
timed('Wilson interval and exact McNemar', () => [wilsonInterval(single.filter((x) => x.other).length, ROWS), mcnemarExact(single.map((x) => x.base === 1), single.map((x) => x.other === 1))]);
process.stdout.write(`difference ${a.delta.toFixed(4)} [${a.low.toFixed(4)}, ${a.high.toFixed(4)}]; with shared images [${b.low.toFixed(4)}, ${b.high.toFixed(4)}], design effect ${b.designEffect.toFixed(2)}\n`);
