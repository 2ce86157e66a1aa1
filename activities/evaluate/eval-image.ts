// A benchmark image as the evaluated model family sees it (docs/method.md §10.2): RGB, and for
// Qwen2-VL resized by smart_resize (bicubic) to multiples of 28 within the pixel bounds, so the
// processor downstream (transformers.js or a vLLM server) has nothing left to change. Encoded as
// PNG by default (lossless: the model sees exactly these pixels), or JPEG/WebP at a stated quality
// when the request size matters more (a ~1 MP PNG is 1-3 MB, a JPEG at 95 a tenth of that).
import sharp from 'sharp';
import type { PromptFamily } from '../../core/eval/prompts';
import { smartResize } from '../../core/eval/smart-resize';

export type EvalImageFormat = 'png' | 'jpeg' | 'webp';

export interface EvalImageOptions {
  family: PromptFamily;
  minPixels: number;
  maxPixels: number;
  /** default png */
  format?: EvalImageFormat;
  /** JPEG/WebP quality, 1-100 */
  quality?: number;
}

/** The prepared image's bytes; throws on an undecodable image or a bad aspect ratio. */
export async function prepareEvalImage(bytes: Uint8Array, o: EvalImageOptions): Promise<Uint8Array> {
  // PIL's convert("RGB") drops alpha without compositing; removeAlpha does the same. No EXIF
  // rotation: neither the HF processors nor vLLM apply it.
  let img = sharp(bytes, { failOn: 'error' }).toColourspace('srgb').removeAlpha();
  if (o.family === 'qwen2vl') {
    const meta = await sharp(bytes).metadata();
    const size = smartResize(meta.height ?? 0, meta.width ?? 0, o.minPixels, o.maxPixels);
    if (size.width !== meta.width || size.height !== meta.height) img = img.resize({ width: size.width, height: size.height, fit: 'fill', kernel: 'cubic' });
  }
  const format = o.format ?? 'png';
  if (format === 'jpeg') img = img.jpeg({ quality: o.quality ?? 95, chromaSubsampling: '4:4:4' });
  else if (format === 'webp') img = img.webp({ quality: o.quality ?? 95 });
  else img = img.png();
  return new Uint8Array(await img.toBuffer());
}
