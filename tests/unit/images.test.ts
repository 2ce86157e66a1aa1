// Path confinement and image checks at ingest.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { confinePath } from '../../activities/ingest/confine';
import { checkImage } from '../../activities/ingest/check-image';
import { parseRunSpec } from '../../core/spec';
import { tempDir } from '../helpers/tmp';

const limits = { ...parseRunSpec({ version: 1, domain: 'd', dataset: { format: 'csv', path: 'x', imageRoot: 'y' } }).stages.ingest, maxPixels: 1_000_000 };
let root: string;
let outside: string;

beforeAll(async () => {
  const base = tempDir('images');
  fs.mkdirSync(path.join(base, 'root', 'sub'), { recursive: true });
  root = fs.realpathSync(path.join(base, 'root'));
  outside = path.join(base, 'outside.png');
  const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#884422' } }).png().toBuffer();
  fs.writeFileSync(path.join(root, 'ok.png'), png);
  fs.writeFileSync(outside, png);
  fs.symlinkSync(outside, path.join(root, 'escape.png'));
  fs.symlinkSync(path.join(root, 'ok.png'), path.join(root, 'sub', 'inside.png'));
  // Noisy pixels, so the entropy-coded data is long and a cut lands after the header.
  const noise = Buffer.from(Array.from({ length: 64 * 48 * 3 }, (_, i) => (i * 7919) % 251));
  const jpg = await sharp(noise, { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer();
  fs.writeFileSync(path.join(root, 'ok.jpg'), jpg);
  fs.writeFileSync(path.join(root, 'truncated.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
  fs.writeFileSync(path.join(root, 'zero.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(root, 'text.jpg'), 'hello');
  fs.writeFileSync(path.join(root, 'anim.gif'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer());
  // 2000x2000 = 4M pixels: refused from the header alone under a 1M limit.
  fs.writeFileSync(path.join(root, 'big.png'), await sharp({ create: { width: 2000, height: 2000, channels: 3, background: '#fff' } }).png().toBuffer());
});

test.each([
  ['../outside.png', 'path escapes the image root: ../outside.png'],
  ['sub/../../outside.png', 'path escapes the image root: sub/../../outside.png'],
  ['/etc/passwd', 'path escapes the image root: absolute path /etc/passwd'],
  ['C:\\images\\a.jpg', 'path escapes the image root: absolute path C:\\images\\a.jpg'],
  ['escape.png', 'path escapes the image root: escape.png links outside it'],
  ['missing.png', 'image file not found: missing.png'],
  ['', 'missing image path'],
])('confinement refuses %j', async (rel, reason) => {
  expect(await confinePath(root, rel)).toEqual({ ok: false, reason });
});

test('a link that stays inside the root is followed', async () => {
  expect(await confinePath(root, 'sub/inside.png')).toEqual({ ok: true, path: path.join(root, 'ok.png') });
});

test('a valid image is accepted with its format, size and content hash', async () => {
  const c = await checkImage(root, 'ok.jpg', limits);
  const sha = createHash('sha256').update(fs.readFileSync(path.join(root, 'ok.jpg'))).digest('hex');
  expect(c).toEqual({ ok: true, resolvedPath: path.join(root, 'ok.jpg'), sha256: sha, format: 'jpeg', width: 64, height: 48, bytes: fs.statSync(path.join(root, 'ok.jpg')).size });
});

test.each([
  ['truncated.jpg', /^corrupt image: .*premature end/],
  ['zero.jpg', /^empty file: 0 bytes$/],
  ['text.jpg', /^not an image: /],
  ['anim.gif', /^format not allowed: gif$/],
  ['big.png', /^oversize image: 2000x2000 = 4000000 pixels > 1000000$/],
  ['sub', /^not a regular file: sub$/],
])('%s is refused with a reason', async (file, reason) => {
  const c = await checkImage(root, file, { ...limits, formats: ['jpeg', 'png'] });
  expect(c.ok).toBe(false);
  expect(!c.ok && c.reason).toMatch(reason);
});

test('size and side limits', async () => {
  expect(await checkImage(root, 'ok.png', { ...limits, maxBytes: 10 })).toMatchObject({ ok: false, reason: expect.stringMatching(/^file too large: \d+ bytes > 10$/) });
  expect(await checkImage(root, 'ok.png', { ...limits, minSide: 32 })).toEqual(expect.objectContaining({ ok: false, reason: 'image too small: 40x30, min side 32' }));
});
