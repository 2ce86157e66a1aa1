// The three annotation formats, malformed entries, whole-file errors, and streaming memory.
import fs from 'node:fs';
import path from 'node:path';
import { parseRunSpec } from '../../core/spec';
import { readSourceRows, shareGptRow, type SourceRow } from '../../activities/ingest/readers';
import { tempDir } from '../helpers/env';

const dataset = (format: string, file: string, extra = {}) =>
  parseRunSpec({ version: 1, domain: 'd', dataset: { format, path: file, imageRoot: '.', ...extra } }).dataset;

async function readAll(format: string, content: string, extra = {}): Promise<SourceRow[]> {
  const file = path.join(tempDir('readers'), `a.${format}`);
  fs.writeFileSync(file, content);
  const rows: SourceRow[] = [];
  for await (const r of readSourceRows(dataset(format, file, extra), file)) rows.push(r);
  return rows;
}

const entry = (image: unknown, caption: unknown, user = '<image>Describe it.') => ({
  images: image === undefined ? undefined : [image],
  messages: [
    { role: 'user', content: user },
    { role: 'assistant', content: caption },
  ],
});

test('ShareGPT: instruction, caption (verbatim) and first image; malformed entries carry a reason', async () => {
  const rows = await readAll(
    'sharegpt',
    JSON.stringify([
      entry('a.jpg', ' A bowl of soup. '),
      entry('b.jpg', ''),
      { images: ['c.jpg'], messages: [{ role: 'user', content: 'x' }] },
      entry(undefined, 'no image'),
      { images: ['d.jpg'], messages: [{ role: 'assistant', content: 'x' }, { role: 'user', content: 'y' }] },
      42,
    ]),
  );
  expect(rows.map((r) => r.sourceIndex)).toEqual([0, 1, 2, 3, 4, 5]);
  expect(rows[0]).toEqual({ sourceIndex: 0, image: 'a.jpg', caption: ' A bowl of soup. ', instruction: '<image>Describe it.' });
  expect(rows.slice(1).map((r) => r.error)).toEqual([
    'empty caption',
    'malformed entry: messages must hold exactly two turns',
    'malformed entry: images must be a non-empty array of paths',
    'malformed entry: turns must be user then assistant',
    'malformed entry: not an object',
  ]);
});

test('ShareGPT: a file that is not a JSON array is InvalidInput', async () => {
  await expect(readAll('sharegpt', '{"images": []}')).rejects.toMatchObject({ type: 'InvalidInput' });
  await expect(readAll('sharegpt', '[{"images": ["a.jpg"], "messages": [')).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('dataset.path') });
});

test('JSONL: configurable fields, blank lines skipped, bad lines become failed rows', async () => {
  const rows = await readAll('jsonl', '{"img":"a.png","text":"Soup in a bowl."}\n\n{"img":"b.png"}\nnot json\n[1]\n{"text":"x"}\n', { imageField: 'img', captionField: 'text', captionInstruction: 'Caption this.' });
  expect(rows[0]).toEqual({ sourceIndex: 0, image: 'a.png', caption: 'Soup in a bowl.', instruction: 'Caption this.' });
  expect(rows.slice(1).map((r) => r.error?.split(' (')[0])).toEqual(['missing caption', 'malformed entry: invalid JSON', 'malformed entry: not an object', 'missing image path: field "img"']);
  expect(rows.map((r) => r.sourceIndex)).toEqual([0, 1, 2, 3, 4]);
});

test('CSV: quoted captions with commas and newlines; a header without the columns is InvalidInput', async () => {
  const rows = await readAll('csv', '\ufeffimage,caption\na.jpg,"Soup, bread\nand salt"\nb.jpg,\n');
  expect(rows[0]).toMatchObject({ image: 'a.jpg', caption: 'Soup, bread\nand salt', instruction: 'Describe the image.' });
  expect(rows[1].error).toBe('empty caption');
  await expect(readAll('csv', 'path,text\na.jpg,x\n')).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('"image" and "caption"') });
});

test('a missing file is InvalidInput naming dataset.path', async () => {
  const ds = dataset('jsonl', '/nonexistent/file.jsonl');
  const it = readSourceRows(ds, '/nonexistent/file.jsonl');
  await expect(it.next()).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('dataset.path') });
});

test('shareGptRow keeps the instruction untouched (tags are removed at compose)', () => {
  expect(shareGptRow(3, entry('x.jpg', 'cap', '<image>\nWhat is it?')).instruction).toBe('<image>\nWhat is it?');
});

test('readers stream: a large ShareGPT array is read without holding it in memory', async () => {
  const n = 150_000;
  const file = path.join(tempDir('big'), 'big.json');
  const fd = fs.openSync(file, 'w');
  fs.writeSync(fd, '[');
  const caption = 'A long caption about a plate of food, repeated to make every entry sizeable. '.repeat(3);
  for (let i = 0; i < n; i++) fs.writeSync(fd, `${i ? ',' : ''}${JSON.stringify(entry(`img_${i}.jpg`, caption))}\n`);
  fs.writeSync(fd, ']');
  fs.closeSync(fd);
  const size = fs.statSync(file).size;
  global.gc?.();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  for await (const r of readSourceRows(dataset('sharegpt', file), file)) {
    if (r.error) throw new Error(r.error);
    if (++count % 5000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  }
  expect(count).toBe(n);
  // Holding every parsed entry would need several times the file size; streaming stays far below it.
  expect(size).toBeGreaterThan(50 * 1024 * 1024);
  expect(peak).toBeLessThan(size / 2);
}, 120_000);
