// Streaming readers for the three annotation formats. Each yields one SourceRow per entry
// without loading the file: a million-row file is read in constant memory. A malformed
// entry, or one whose bytes are not valid UTF-8, becomes a row with `error` (recorded as a
// failed item); a file that cannot be read as its format at all raises InvalidInput.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import { parse as parseCsv } from 'csv-parse';
import { parser as jsonParser } from 'stream-json';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { chain } from 'stream-chain';
import { ErrorTypes } from '../../core/errors';
import type { TRunSpec } from '../../core/spec';
import { failure } from '../errors';
import { byteLines, decodeUtf8, JsonArrayUtf8Scan } from './utf8';

export interface SourceRow {
  sourceIndex: number;
  image: string;
  caption: string | null;
  instruction: string | null;
  error?: string;
}

type DatasetSpec = TRunSpec['dataset'];

export async function* readSourceRows(ds: DatasetSpec, file: string): AsyncGenerator<SourceRow> {
  try {
    await fs.access(file);
  } catch {
    throw failure(ErrorTypes.InvalidInput, `dataset.path: cannot read ${file}`);
  }
  switch (ds.format) {
    case 'sharegpt':
      yield* readShareGpt(file);
      return;
    case 'jsonl':
      yield* readJsonl(file, ds);
      return;
    case 'csv':
      yield* readCsv(file, ds);
      return;
  }
}

/** The paper's format: a JSON array of {images: [path], messages: [user "<image>…", assistant caption]}. */
export function shareGptRow(sourceIndex: number, value: unknown): SourceRow {
  const row: SourceRow = { sourceIndex, image: '', caption: null, instruction: null };
  if (!value || typeof value !== 'object') return { ...row, error: 'malformed entry: not an object' };
  const v = value as { images?: unknown; messages?: unknown };
  if (!Array.isArray(v.images) || v.images.length === 0 || typeof v.images[0] !== 'string') {
    return { ...row, error: 'malformed entry: images must be a non-empty array of paths' };
  }
  row.image = v.images[0];
  const msgs = v.messages;
  if (!Array.isArray(msgs) || msgs.length !== 2) return { ...row, error: 'malformed entry: messages must hold exactly two turns' };
  const [user, assistant] = msgs as { role?: unknown; content?: unknown }[];
  if (user?.role !== 'user' || assistant?.role !== 'assistant') return { ...row, error: 'malformed entry: turns must be user then assistant' };
  if (typeof user.content !== 'string' || typeof assistant.content !== 'string') return { ...row, error: 'malformed entry: turn content must be text' };
  return withCaption({ ...row, instruction: user.content }, assistant.content);
}

/** Empty captions corrupt the synthesis prompt (docs/method.md D11): refused at ingest. */
function withCaption(row: SourceRow, caption: unknown): SourceRow {
  if (typeof caption !== 'string') return { ...row, error: 'missing caption' };
  if (caption.trim() === '') return { ...row, caption, error: 'empty caption' };
  return { ...row, caption };
}

function fieldRow(sourceIndex: number, rec: Record<string, unknown>, ds: DatasetSpec): SourceRow {
  const image = rec[ds.imageField];
  const row: SourceRow = { sourceIndex, image: typeof image === 'string' ? image : '', caption: null, instruction: ds.captionInstruction };
  if (typeof image !== 'string' || image === '') return { ...row, error: `missing image path: field "${ds.imageField}"` };
  return withCaption(row, rec[ds.captionField]);
}

/** A row refused for its bytes; `line` is the file's line (from 1) of the first invalid byte. */
const invalidUtf8 = (sourceIndex: number, line: number): SourceRow => ({ sourceIndex, image: '', caption: null, instruction: null, error: `invalid UTF-8: row ${sourceIndex}, line ${line}` });

async function* readShareGpt(file: string): AsyncGenerator<SourceRow> {
  // stream-json decodes text itself, so the scan in front of it says which entries were bad.
  const scan = new JsonArrayUtf8Scan();
  const pipeline = chain([createReadStream(file), scan, jsonParser(), streamArray()]);
  let index = 0;
  try {
    for await (const data of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      const bad = scan.badRows.get(data.key);
      yield bad === undefined ? shareGptRow(index++, data.value) : invalidUtf8(index++, bad);
    }
  } catch (err) {
    pipeline.destroy();
    const where = scan.firstBadLine === null ? '' : ` (invalid UTF-8 at line ${scan.firstBadLine})`;
    throw failure(ErrorTypes.InvalidInput, `dataset.path: ${file} is not a ShareGPT JSON array (after ${index} entries)${where}: ${(err as Error).message}`);
  }
}

async function* readJsonl(file: string, ds: DatasetSpec): AsyncGenerator<SourceRow> {
  let index = 0;
  for await (const { line: lineNo, bytes } of byteLines(createReadStream(file))) {
    const line = decodeUtf8(bytes);
    if (line === null) {
      yield invalidUtf8(index++, lineNo);
      continue;
    }
    if (line.trim() === '') continue;
    const sourceIndex = index++;
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch (err) {
      yield { sourceIndex, image: '', caption: null, instruction: null, error: `malformed entry: invalid JSON (${(err as Error).message})` };
      continue;
    }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec)) {
      yield { sourceIndex, image: '', caption: null, instruction: null, error: 'malformed entry: not an object' };
      continue;
    }
    yield fieldRow(sourceIndex, rec as Record<string, unknown>, ds);
  }
}

async function* readCsv(file: string, ds: DatasetSpec): AsyncGenerator<SourceRow> {
  // Fields come back as bytes (encoding: null) so that each row's text is decoded strictly;
  // the header is mapped to columns here (the BOM goes with the first header field's decoding).
  const parser = createReadStream(file).pipe(
    parseCsv({ encoding: null, bom: false, info: true, skip_empty_lines: true, relax_column_count: true, trim: false }),
  );
  let header: string[] | null = null;
  let index = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Buffer[]; info: { lines: number } }>) {
      const fields = record.map(decodeUtf8);
      if (header === null) {
        if (fields.some((f) => f === null)) throw new Error(`the header (line ${info.lines}) is not valid UTF-8`);
        header = fields as string[];
        if (!(header.includes(ds.imageField) && header.includes(ds.captionField))) {
          throw new Error(`header must name the columns "${ds.imageField}" and "${ds.captionField}"`);
        }
        continue;
      }
      const sourceIndex = index++;
      if (fields.some((f) => f === null)) {
        yield invalidUtf8(sourceIndex, info.lines);
        continue;
      }
      const rec: Record<string, unknown> = {};
      header.forEach((name, i) => {
        if (i < fields.length) rec[name] = fields[i];
      });
      yield fieldRow(sourceIndex, rec, ds);
    }
  } catch (err) {
    parser.destroy();
    if ((err as { type?: string }).type) throw err;
    throw failure(ErrorTypes.InvalidInput, `dataset.path: ${file} is not valid CSV (after ${index} rows): ${(err as Error).message}`);
  }
}
