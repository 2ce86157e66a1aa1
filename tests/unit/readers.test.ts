// The three annotation formats, malformed entries, whole-file errors, and streaming memory.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseRunSpec } from '../../core/spec';
import { readSourceRows, shareGptRow, type SourceRow } from '../../activities/ingest/readers';
import { tempDir } from '../helpers/tmp';

const dataset = (format: string, file: string, extra = {}) =>
  parseRunSpec({ version: 1, domain: 'd', dataset: { format, path: file, imageRoot: '.', ...extra } }).dataset;

async function readAll(format: string, content: string | Buffer, extra = {}): Promise<SourceRow[]> {
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

// Bytes that are not UTF-8: a Latin-1 "é", a lone continuation byte, an overlong "/", a surrogate,
// a 4-byte lead cut short. Each would otherwise decode to U+FFFD and be accepted.
const BAD_BYTES = [[0xe9], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x8d]].map((b) => Buffer.from(b));
const bytes = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
const utf8Errors = (rows: SourceRow[]) => rows.filter((r) => r.error?.startsWith('invalid UTF-8')).map((r) => r.error);

test('JSONL: a line with invalid UTF-8 fails with its row and line; valid multi-byte text passes', async () => {
  const good = (i: number) => `{"image":"${i}.png","caption":"Crème brûlée 🍮 ${i}"}\n`;
  const parts: (string | Buffer)[] = [good(0), '\n'];
  BAD_BYTES.forEach((b, i) => parts.push(bytes(`{"image":"b${i}.png","caption":"caf`, b, '"}\r\n'), good(i + 1)));
  const rows = await readAll('jsonl', bytes(...parts));
  expect(rows).toHaveLength(1 + 2 * BAD_BYTES.length);
  // line 2 is blank (no row); bad rows are 1, 3, 5, … on lines 3, 5, 7, …
  expect(utf8Errors(rows)).toEqual(BAD_BYTES.map((_, i) => `invalid UTF-8: row ${2 * i + 1}, line ${2 * i + 3}`));
  expect(rows.filter((r) => !r.error).map((r) => r.caption)).toEqual([0, 1, 2, 3, 4, 5].map((i) => `Crème brûlée 🍮 ${i}`));
  expect(rows.map((r) => r.sourceIndex)).toEqual(rows.map((_, i) => i));
});

test('JSONL: a bad byte in the last line without a newline still fails that line', async () => {
  const rows = await readAll('jsonl', bytes('{"image":"a.png","caption":"ok"}\n{"image":"b.png","caption":"x', Buffer.from([0xc3])));
  expect(rows.map((r) => r.error ?? 'ok')).toEqual(['ok', 'invalid UTF-8: row 1, line 2']);
});

test('ShareGPT: an entry with invalid UTF-8 fails alone, with its row and line; the others are read', async () => {
  const e = (i: number, cap: string) => JSON.stringify(entry(`${i}.jpg`, cap));
  const parts: (string | Buffer)[] = ['[\n', e(0, 'Pâté, "quoted" \\ and [brackets], {braces}'), ',\n'];
  BAD_BYTES.forEach((b, i) => {
    const [head, tail] = e(100 + i, 'SPLIT').split('SPLIT');
    parts.push(bytes(head, 'caf', b, tail), ',\n', e(i + 1, `Soupe à l'oignon ${i}`), i < BAD_BYTES.length - 1 ? ',\n' : '\n');
  });
  parts.push(']');
  const rows = await readAll('sharegpt', bytes(...parts));
  expect(rows).toHaveLength(1 + 2 * BAD_BYTES.length);
  expect(utf8Errors(rows)).toEqual(BAD_BYTES.map((_, i) => `invalid UTF-8: row ${2 * i + 1}, line ${2 * i + 3}`));
  expect(rows[0].caption).toBe('Pâté, "quoted" \\ and [brackets], {braces}');
  expect(rows.filter((r) => !r.error).slice(1).map((r) => r.image)).toEqual(['1.jpg', '2.jpg', '3.jpg', '4.jpg', '5.jpg']);
});

test('ShareGPT: invalid UTF-8 outside any string fails the file, naming the line', async () => {
  const file = bytes('[\n', JSON.stringify(entry('a.jpg', 'ok')), ',\n', Buffer.from([0xff]), JSON.stringify(entry('b.jpg', 'ok')), ']');
  await expect(readAll('sharegpt', file)).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('invalid UTF-8 at line 3') });
});

test('CSV: a row with invalid UTF-8 fails with its row and line, also inside a quoted multi-line field', async () => {
  const file = bytes('\ufeffimage,caption\n', 'a.jpg,Crème\n', 'b.jpg,"two\nlines ', Buffer.from([0xe9]), '"\n', 'c.jpg,ok\n', Buffer.from([0xff]), '.jpg,x\n');
  const rows = await readAll('csv', file);
  expect(rows.map((r) => r.error ?? r.caption)).toEqual(['Crème', 'invalid UTF-8: row 1, line 4', 'ok', 'invalid UTF-8: row 3, line 6']);
  await expect(readAll('csv', bytes('ima', Buffer.from([0xe9]), 'ge,caption\na.jpg,x\n'))).rejects.toMatchObject({ type: 'InvalidInput', message: expect.stringContaining('not valid UTF-8') });
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
  // what the reader holds, not the garbage it left for later: a full collection before each reading
  // (without it the figure depends on when V8 chose to collect, e.g. on how many test files run at once)
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  for await (const r of readSourceRows(dataset('sharegpt', file), file)) {
    if (r.error) throw new Error(r.error);
    if (++count % 10_000 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
  }
  expect(count).toBe(n);
  // Holding every parsed entry would need several times the file size; streaming stays far below it.
  expect(size).toBeGreaterThan(50 * 1024 * 1024);
  // (measured: ~1 MB held over a 51 MB file)
  expect(peak).toBeLessThan(size / 10);
}, 120_000);
