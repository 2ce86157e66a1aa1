// Qwen2-VL's image sizing for evaluation (docs/method.md §10.2): both sides to multiples of 28, the
// area kept within [minPixels, maxPixels]. Pure arithmetic in double precision, with Python's
// half-to-even round, so the same image gets the same size as the paper's processor.

export const QWEN2VL_FACTOR = 28;
export const EVAL_MIN_PIXELS = 224 * 224; // 50,176
export const EVAL_MAX_PIXELS = 1280 * 28 * 28; // 1,003,520
export const MAX_ASPECT_RATIO = 200;

export class ImageSizeError extends Error {}

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * transformers' `smart_resize` (qwen2_vl image processor), step for step: both sides rounded to
 * the nearest multiple of factor (a side under factor / 2 rounds to 0; the area test below then
 * scales it up), then scaled down into maxPixels (each side at least factor) or up into
 * minPixels. Throws ImageSizeError where transformers raises.
 */
export function smartResize(height: number, width: number, minPixels = EVAL_MIN_PIXELS, maxPixels = EVAL_MAX_PIXELS, factor = QWEN2VL_FACTOR): { height: number; width: number } {
  if (!(height > 0 && width > 0)) throw new ImageSizeError(`image size ${width}x${height} is empty`);
  if (Math.max(height, width) / Math.min(height, width) > MAX_ASPECT_RATIO) {
    throw new ImageSizeError(`aspect ratio of ${width}x${height} exceeds ${MAX_ASPECT_RATIO}`);
  }
  let h = roundHalfEven(height / factor) * factor;
  let w = roundHalfEven(width / factor) * factor;
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}
