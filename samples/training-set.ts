// A toy training set in the export's format (ShareGPT rows with one image each): noise images
// with short captions, every other row with a second, synthetic-task turn pair. For the
// trainer's tests and `bench:train`; nothing here is downloaded.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

const SUBJECTS = ['the cat', 'a dog', 'my friend', 'the teacher', 'our team', 'the old man', 'a bird', 'the child'];
const ACTS = ['sees a blue box', 'paints the red door', 'carries three small stones', 'finds a bright yellow kite', 'builds a blue box', 'reads the red door', 'watches the river', 'describes a kite'];

export async function toyTrainingSet(dir: string, count = 8): Promise<{ dir: string; file: string }> {
  fs.mkdirSync(dir, { recursive: true });
  const rows = [];
  for (let i = 0; i < count; i++) {
    const caption = `${SUBJECTS[i % 8]} ${ACTS[(i + Math.floor(i / 8)) % 8]}`;
    const width = 80;
    const height = 60 + (i % 8) * 4;
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
