// The size a Qwen2-VL synthesizer's image is sent at: the size the trainer gives a training image
// (trainer/adamllm_trainer/data.py, regularize: LLaMA-Factory's Qwen2-VL rules), so a model sees
// at synthesis the scale it was trained at, and a served processor whose own bounds are far
// larger (12.8 MP for Qwen2-VL-Instruct) has nothing to enlarge. Python's arithmetic step for
// step: int() truncates, the area may end a little outside the bounds.

export const TRAIN_IMAGE_MAX_PIXELS = 512 * 512;
export const TRAIN_IMAGE_MIN_PIXELS = 32 * 32;
const MIN_SIDE = 28;
const MAX_RATIO = 200;
const CLAMPED_RATIO = 180;

/** (width, height) after regularize: scaled into [minPixels, maxPixels], sides ≥ 28, strips cut to 180:1. */
export function trainingImageSize(width: number, height: number, maxPixels = TRAIN_IMAGE_MAX_PIXELS, minPixels = TRAIN_IMAGE_MIN_PIXELS): { width: number; height: number } {
  let w = width;
  let h = height;
  if (w * h > maxPixels) {
    const f = Math.sqrt(maxPixels / (w * h));
    [w, h] = [Math.max(1, Math.trunc(w * f)), Math.max(1, Math.trunc(h * f))];
  }
  if (w * h < minPixels) {
    const f = Math.sqrt(minPixels / (w * h));
    [w, h] = [Math.trunc(w * f), Math.trunc(h * f)];
  }
  if (Math.min(w, h) < MIN_SIDE) [w, h] = [Math.max(w, MIN_SIDE), Math.max(h, MIN_SIDE)];
  if (w / h > MAX_RATIO) w = h * CLAMPED_RATIO;
  if (h / w > MAX_RATIO) h = w * CLAMPED_RATIO;
  return { width: w, height: h };
}
