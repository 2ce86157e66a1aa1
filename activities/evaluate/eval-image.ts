// A benchmark image as the evaluated model family sees it (method.md §10.2): RGB, and for
// Qwen2-VL resized by smart_resize (bicubic) to multiples of 28 within the pixel bounds, so the
// processor downstream (transformers.js or a vLLM server) has nothing left to change.
import sharp from 'sharp';
import type { PromptFamily } from '../../core/eval/prompts';
import { smartResize } from '../../core/eval/smart-resize';

export interface EvalImageOptions {
  family: PromptFamily;
  minPixels: number;
  maxPixels: number;
}

/** PNG bytes of the prepared image; throws on an undecodable image or a bad aspect ratio. */
export async function prepareEvalImage(bytes: Uint8Array, o: EvalImageOptions): Promise<Uint8Array> {
  // PIL's convert("RGB") drops alpha without compositing; removeAlpha does the same. No EXIF
  // rotation: neither the HF processors nor vLLM apply it.
  let img = sharp(bytes, { failOn: 'error' }).toColourspace('srgb').removeAlpha();
  if (o.family === 'qwen2vl') {
    const meta = await sharp(bytes).metadata();
    const size = smartResize(meta.height ?? 0, meta.width ?? 0, o.minPixels, o.maxPixels);
    if (size.width !== meta.width || size.height !== meta.height) img = img.resize({ width: size.width, height: size.height, fit: 'fill', kernel: 'cubic' });
  }
  return new Uint8Array(await img.png().toBuffer());
}
