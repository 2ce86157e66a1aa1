// A toy training set in the export's format (ShareGPT rows with one image each): 8 noise
// images with short captions, half of them with a second, synthetic-task turn pair.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { tempDir } from './env';

const CAPTIONS = [
  'the cat sees a blue box',
  'a dog paints the red door',
  'my friend carries three small stones',
  'the teacher finds a bright yellow kite',
  'our team builds a blue box',
  'the old man reads the red door',
  'a bird watches the river',
  'the cat describes a kite',
];

export async function toyTrainingSet(): Promise<{ dir: string; file: string }> {
  const dir = tempDir('trainset');
  const rows = [];
  for (const [i, caption] of CAPTIONS.entries()) {
    const width = 80;
    const height = 60 + i * 4;
    const pixels = Buffer.alloc(width * height * 3);
    for (let k = 0; k < pixels.length; k++) pixels[k] = (k * 37 + i * 101 + ((k * k) % 251)) % 256;
    const image = path.join(dir, `${i}.png`);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(image);
    const messages = [
      { role: 'user', content: '<image>\nDescribe the image.' },
      { role: 'assistant', content: caption },
    ];
    if (i % 2 === 0) messages.push({ role: 'user', content: 'What is in the picture?' }, { role: 'assistant', content: caption.split(' ').at(-1)! });
    rows.push({ messages, images: [image] });
  }
  const file = path.join(dir, 'train.json');
  fs.writeFileSync(file, JSON.stringify(rows));
  return { dir, file };
}
