// SVG to PNG with sharp (librsvg inside libvips). PNG because it is lossless: the model sees
// exactly the drawn pixels, and the same SVG gives the same bytes on every run (PNG carries no
// timestamp; the fixed compression settings keep the encoder's choices fixed too).
import sharp from 'sharp';

export async function renderPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg)).removeAlpha().png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer();
}
