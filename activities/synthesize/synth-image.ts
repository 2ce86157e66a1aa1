// A dataset image as a Qwen2-VL synthesizer is sent it: at the size the trainer trains at
// (core/synth/image-size.ts), resized NEAREST as the trainer resizes, RGB, PNG. An image already
// at that size goes as stored. Without this, a vLLM server sizes the image by its own processor's
// bounds (Qwen2-VL-Instruct: up to 12.8 MP, ~16k visual tokens for a 12 MP photo) while the
// synthesizer was trained at ≤ 512²: other pixels than in training, and ~50× the compute.
// One resize where the trainer may chain up to four (PIL NEAREST each): the size is the same,
// the sampled pixels may differ by one in a few rows.
import sharp from 'sharp';
import { trainingImageSize } from '../../core/synth/image-size';

export interface SynthImageOptions {
  maxPixels: number;
  minPixels: number;
}

export async function prepareSynthImage(bytes: Uint8Array, o: SynthImageOptions): Promise<{ bytes: Uint8Array; ext: string }> {
  const meta = await sharp(bytes, { failOn: 'error' }).metadata();
  if (!meta.width || !meta.height) throw new Error('image has no size');
  const size = trainingImageSize(meta.width, meta.height, o.maxPixels, o.minPixels);
  if (size.width === meta.width && size.height === meta.height) return { bytes, ext: meta.format === 'jpeg' ? 'jpg' : (meta.format ?? 'img') };
  // PIL's convert("RGB") drops alpha without compositing, as removeAlpha does; no EXIF rotation (the trainer applies none)
  const out = await sharp(bytes, { failOn: 'error' }).toColourspace('srgb').removeAlpha().resize({ width: size.width, height: size.height, fit: 'fill', kernel: 'nearest' }).png().toBuffer();
  return { bytes: new Uint8Array(out), ext: 'png' };
}
