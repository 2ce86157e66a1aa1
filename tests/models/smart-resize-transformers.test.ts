// core/eval/smart-resize.ts against the function it re-implements: transformers' Qwen2-VL
// smart_resize, run in the trainer's interpreter (.venv-models), on every height and width from
// 1 to 64, on a seeded sample of large sizes and on the aspect-ratio edges, under several pixel
// bounds. Where transformers raises, the TS function must throw ImageSizeError.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EVAL_MAX_PIXELS, EVAL_MIN_PIXELS, ImageSizeError, smartResize } from '../../core/eval/smart-resize';
import { trainerPython } from '../../activities/trainer/trainer-process';

const exec = promisify(execFile);

// [minPixels, maxPixels]: evaluation's, transformers' class defaults, Qwen2-VL-2B-Instruct's
// preprocessor_config.json, the tiny model's, and two bounds no model uses (odd, and narrow)
const BOUNDS: [number, number][] = [
  [EVAL_MIN_PIXELS, EVAL_MAX_PIXELS],
  [56 * 56, 28 * 28 * 1280],
  [3136, 12845056],
  [56 * 56, 448 * 448],
  [1000, 100_000],
  [28 * 28, 28 * 28],
];

function sizes(): [number, number][] {
  const out: [number, number][] = [];
  for (let h = 1; h <= 64; h++) for (let w = 1; w <= 64; w++) out.push([h, w]);
  let seed = 12345; // a fixed LCG: the same sample on every run
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 1 + (seed % n);
  };
  for (let i = 0; i < 1500; i++) out.push([next(8000), next(8000)]);
  for (let i = 0; i < 300; i++) out.push([next(64), next(12000)], [next(12000), next(64)]);
  // photos, and the 200:1 edge from both sides at small and large scale
  out.push([480, 640], [3024, 4032], [4032, 3024], [1080, 1920], [1, 200], [1, 201], [2, 400], [2, 401], [28, 5600], [28, 5601], [5600, 28], [13, 2600], [14, 2801]);
  return out;
}

const REFERENCE = `
import json, sys
try:
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize
    where = "image_processing_qwen2_vl"
except ImportError:  # that module needs torchvision; the PIL processor carries a copy of the function
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import smart_resize
    where = "image_processing_pil_qwen2_vl"
job = json.load(sys.stdin)
out = []
for lo, hi in job["bounds"]:
    for h, w in job["sizes"]:
        try:
            out.append(list(smart_resize(h, w, factor=28, min_pixels=lo, max_pixels=hi)))
        except Exception as e:
            out.append(type(e).__name__)
print(json.dumps({"where": where, "out": out}))
`;

test('smartResize equals transformers\' smart_resize, and throws ImageSizeError where it raises', async () => {
  const all = sizes();
  const python = trainerPython(process.env.ADAMLLM_PYTHON);
  const child = exec(python, ['-c', REFERENCE], { maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify({ bounds: BOUNDS, sizes: all }));
  const ref = JSON.parse((await child).stdout) as { where: string; out: ([number, number] | string)[] };
  expect(ref.out).toHaveLength(BOUNDS.length * all.length);
  const wrong: unknown[] = [];
  let raised = 0;
  BOUNDS.forEach(([lo, hi], b) =>
    all.forEach(([h, w], i) => {
      const want = ref.out[b * all.length + i];
      let got: [number, number] | string;
      try {
        const r = smartResize(h, w, lo, hi);
        got = [r.height, r.width];
      } catch (e) {
        got = e instanceof ImageSizeError ? 'ImageSizeError' : `other: ${(e as Error).message}`;
      }
      const same = typeof want === 'string' ? got === 'ImageSizeError' : JSON.stringify(got) === JSON.stringify(want);
      if (typeof want === 'string') raised++;
      if (!same && wrong.length < 20) wrong.push({ height: h, width: w, minPixels: lo, maxPixels: hi, transformers: want, typescript: got });
    }),
  );
  expect(wrong).toEqual([]);
  expect(raised).toBeGreaterThan(0); // the aspect-ratio edge was reached
}, 120_000);
