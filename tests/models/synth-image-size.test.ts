// core/synth/image-size.ts against the function it mirrors: the trainer's regularize
// (trainer/adamllm_trainer/data.py), run in the trainer's interpreter on a stand-in image that only
// records its size, over every width and height from 1 to 64, photo sizes, strips and a seeded
// sample, under the default and two other bounds: a synthesizer is sent its images at exactly the
// size the trainer trained it at.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { trainerPython } from '../../activities/trainer/trainer-process';
import { trainingImageSize, TRAIN_IMAGE_MAX_PIXELS, TRAIN_IMAGE_MIN_PIXELS } from '../../core/synth/image-size';

const exec = promisify(execFile);

const BOUNDS: [number, number][] = [
  [TRAIN_IMAGE_MAX_PIXELS, TRAIN_IMAGE_MIN_PIXELS],
  [56 * 56, 28 * 28],
  [1280 * 28 * 28, 224 * 224],
];

function sizes(): [number, number][] {
  const out: [number, number][] = [];
  for (let w = 1; w <= 64; w++) for (let h = 1; h <= 64; h++) out.push([w, h]);
  let seed = 777;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return 1 + (seed % n);
  };
  for (let i = 0; i < 1000; i++) out.push([next(9000), next(9000)]);
  for (let i = 0; i < 200; i++) out.push([next(40), next(12000)], [next(12000), next(40)]);
  out.push([640, 480], [4032, 3024], [3024, 4032], [1920, 1080], [1000, 3], [3, 1000], [6000, 28], [28, 6000], [300, 1], [1, 1]);
  return out;
}

const REFERENCE = `
import json, sys
sys.path.insert(0, "trainer")
from adamllm_trainer.data import regularize

class Sized:  # what regularize reads and calls of a PIL image, without the pixels
    def __init__(self, size):
        self.size = size
    def resize(self, size, resample=None):
        return Sized(tuple(size))

job = json.load(sys.stdin)
print(json.dumps([[list(regularize(Sized((w, h)), hi, lo).size) for w, h in job["sizes"]] for hi, lo in job["bounds"]]))
`;

test('trainingImageSize equals the trainer\'s regularize on every size', async () => {
  const all = sizes();
  const child = exec(trainerPython(process.env.ADAMLLM_PYTHON), ['-c', REFERENCE], { maxBuffer: 64 * 1024 * 1024 });
  child.child.stdin!.end(JSON.stringify({ bounds: BOUNDS, sizes: all }));
  const ref = JSON.parse((await child).stdout) as [number, number][][];
  const wrong: unknown[] = [];
  BOUNDS.forEach(([hi, lo], b) =>
    all.forEach(([w, h], i) => {
      const got = trainingImageSize(w, h, hi, lo);
      const [rw, rh] = ref[b][i];
      if ((got.width !== rw || got.height !== rh) && wrong.length < 20) wrong.push({ w, h, hi, lo, python: [rw, rh], typescript: [got.width, got.height] });
    }),
  );
  expect(wrong).toEqual([]);
  expect(trainingImageSize(4032, 3024)).toEqual({ width: 591, height: 443 });
}, 60_000);
