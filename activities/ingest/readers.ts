// Streaming readers for the three annotation formats. Each yields one SourceRow per entry
// without loading the file: a million-row file is read in constant memory. A malformed
// entry becomes a row with `error` (recorded as a failed item); a file that cannot be read
// as its format at all raises InvalidInput.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import readline from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { parser as jsonParser } from 'stream-json';
import { streamArray } from 'stream-json/streamers/StreamArray';
import { chain } from 'stream-chain';
import { ErrorTypes } from '../../core/errors';
import type { TRunSpec } from '../../core/spec';
import { failure } from '../errors';

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

/** Empty captions corrupt the synthesis prompt (method.md D11): refused at ingest. */
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

async function* readShareGpt(file: string): AsyncGenerator<SourceRow> {
  const pipeline = chain([createReadStream(file), jsonParser(), streamArray()]);
  let index = 0;
  try {
    for await (const data of pipeline as AsyncIterable<{ key: number; value: unknown }>) {
      yield shareGptRow(index++, data.value);
    }
  } catch (err) {
    pipeline.destroy();
    throw failure(ErrorTypes.InvalidInput, `dataset.path: ${file} is not a ShareGPT JSON array (after ${index} entries): ${(err as Error).message}`);
  }
}

async function* readJsonl(file: string, ds: DatasetSpec): AsyncGenerator<SourceRow> {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let index = 0;
  for await (const line of lines) {
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
  const parser = createReadStream(file).pipe(
    parseCsv({ columns: true, bom: true, skip_empty_lines: true, relax_column_count: true, trim: false }),
  );
  let index = 0;
  try {
    for await (const rec of parser as AsyncIterable<Record<string, unknown>>) {
      if (index === 0 && !(ds.imageField in rec && ds.captionField in rec)) {
        throw new Error(`header must name the columns "${ds.imageField}" and "${ds.captionField}"`);
      }
      yield fieldRow(index++, rec, ds);
    }
  } catch (err) {
    parser.destroy();
    if ((err as { type?: string }).type) throw err;
    throw failure(ErrorTypes.InvalidInput, `dataset.path: ${file} is not valid CSV (after ${index} rows): ${(err as Error).message}`);
  }
}
