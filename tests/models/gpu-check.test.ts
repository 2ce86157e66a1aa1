// bench/gpu-check.sh --smoke: the GPU check's code path on CPU with a reduced model, so the first
// run on a lent GPU machine does not fail on a typo. It also shows, in miniature, why the trainer
// keeps fp32 master weights: pure bf16 weights round most lr-1e-5 updates away.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

test('gpu-check --smoke: fp32 master weights move every weight, pure bf16 far fewer; throughput lines for each shape with and without checkpointing', () => {
  const out = execFileSync('bash', [path.join(__dirname, '..', '..', 'bench', 'gpu-check.sh'), '--smoke', '--steps', '1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const lines = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const changed = lines.find((l) => String(l.check).startsWith('weights changed'))!;
  expect(Number(changed.fp32_master_bf16_autocast)).toBeGreaterThan(0.99);
  expect(Number(changed.pure_bf16)).toBeLessThan(0.5);
  const runs = lines.filter((l) => l.check === 'throughput');
  expect(runs.map((r) => [r.tokens, r.gradient_checkpointing])).toEqual([[512, false], [512, true], [1024, false], [1024, true]]);
  for (const r of runs) {
    expect(Number(r.tokens_per_s)).toBeGreaterThan(0);
    expect(Number(r.model_flops_per_token)).toBe(6 * Number(r.trainable_params) + 2 * Number(r.frozen_params));
  }
}, 180_000);
