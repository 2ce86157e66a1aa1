// The world's training files: the corpus for the tokenizer, the base model's rows
// and the synthesizer's rows (§5.2), every image they name on disk, the benchmark kept out.
import fs from 'node:fs';
import path from 'node:path';
import { generateWorld, WORLD_TEST_SIZE, type World } from '../../demo/world/world';
import { writeWorldTrainingFiles, type WorldTrainingFiles } from '../../demo/world/training-sets';
import { tempDir } from '../helpers/tmp';

type Row = { images: string[]; messages: { role: string; content: string }[] };
let world: World;
let files: WorldTrainingFiles;
beforeAll(async () => {
  world = await generateWorld({ dir: path.join(tempDir('world'), 'w'), ...WORLD_TEST_SIZE, seed: 3 });
  files = await writeWorldTrainingFiles(world, tempDir('world-training'));
});

const read = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')) as Row[];

test('base rows: the caption and every task answered, in a seeded order with the image on the first turn; images on disk', () => {
  const base = read(files.base);
  expect(base).toHaveLength(WORLD_TEST_SIZE.generalImages);
  const firsts = new Set<string>();
  for (const r of base) {
    expect(r.messages[0].content.startsWith('<image>\n')).toBe(true);
    expect(r.messages.filter((m) => m.content.includes('<image>'))).toHaveLength(1);
    expect(r.messages.filter((m) => m.role === 'user' && m.content.endsWith('Describe the image.'))).toHaveLength(1);
    expect(r.messages.length).toBeGreaterThanOrEqual(4);
    firsts.add(r.messages[0].content === '<image>\nDescribe the image.' ? 'caption' : 'task');
    expect(fs.existsSync(path.join(files.imageRoot, r.images[0]))).toBe(true);
  }
  expect(firsts).toEqual(new Set(['caption', 'task'])); // some rows open with a question, as an evaluation does
});

test('synthesizer rows: every image is in train or dev, hinted task turns, blanked rows point at the blank image', () => {
  const train = read(files.synthesizerTrain);
  const dev = read(files.synthesizerDev);
  expect(train.length + dev.length).toBe(WORLD_TEST_SIZE.generalImages);
  expect(files.counts.synthesizer).toMatchObject({ train: train.length, dev: dev.length, skipped: 0 });
  const blanks = [...train, ...dev].filter((r) => r.images[0].endsWith('blank.jpg'));
  expect(blanks).toHaveLength(files.counts.synthesizer.blanked);
  for (const r of [...train, ...dev]) {
    expect(fs.existsSync(path.join(files.imageRoot, r.images[0]))).toBe(true);
    expect(r.messages[0].content).toBe('<image>\nDescribe the image.');
    for (const m of r.messages.slice(2).filter((x) => x.role === 'user')) expect(m.content).toMatch(/^Answer with an? (precise|informative) response\.\n/);
  }
});

test('the corpus has the general and domain text, and none of the benchmark\'s questions', () => {
  const corpus = fs.readFileSync(files.corpus, 'utf8');
  expect(corpus).toContain('Describe the image.');
  expect(corpus).toMatch(/lymphocyte|neutrophil|erythrocyte|macrophage/);
  const benchmark = fs.readFileSync(world.paths.pmcVqa, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { input: string }).input);
  expect(benchmark.some((q) => corpus.includes(q))).toBe(false);
});
