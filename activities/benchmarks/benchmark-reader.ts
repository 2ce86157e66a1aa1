// Reads a benchmark split one row at a time: the Arrow files `datasets.save_to_disk` writes
// (what the AdaptLLM benchmark repositories hold) one record batch at a time, their Parquet
// export one row group at a time (image as a {bytes, path} struct in both), or JSONL with the
// same fields and an image path. A large split never sits in memory.
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { createReadStream as openStream } from 'node:fs';
import { RecordBatchReader, Vector } from 'apache-arrow';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import type { EvalTask } from '../../core/eval/tasks';

export interface BenchmarkRow {
  /** 0-based row index: the seed of the multiple-choice fallback */
  index: number;
  fields: Record<string, unknown>;
  /** encoded image bytes (Parquet) or a file path (JSONL) */
  image: { bytes?: Uint8Array; path?: string };
}

export class BenchmarkFileError extends Error {}

/** Fields the task needs besides the image; a missing one is a clear error naming row and field. */
function check(task: EvalTask | undefined, row: Record<string, unknown>, where: string): void {
  if (!task) return;
  const missing = task.fields.filter((f) => !(f in row));
  if (missing.length) throw new BenchmarkFileError(`${where}: missing field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} for ${task.name}`);
}

/** Rows [from, to) of the split; Parquet row groups and Arrow batches outside it are not decoded. */
export interface RowRange {
  from?: number;
  to?: number;
}

type BenchmarkFormat = 'parquet' | 'arrow' | 'jsonl';

/** The file's format by extension, once it is known to exist; a clear error otherwise. */
async function benchmarkFormat(file: string): Promise<BenchmarkFormat> {
  try {
    await fs.access(file);
  } catch {
    throw new BenchmarkFileError(`benchmark file not found: ${file}`);
  }
  const format = (['parquet', 'arrow', 'jsonl'] as const).find((f) => file.endsWith(`.${f}`));
  if (!format) throw new BenchmarkFileError(`${file}: expected a .arrow, .parquet or .jsonl benchmark file`);
  return format;
}

async function* rowsOf(file: string, task: EvalTask | undefined, range: Required<RowRange>): AsyncGenerator<BenchmarkRow> {
  const format = await benchmarkFormat(file);
  if (format === 'parquet') yield* readParquet(file, task, range);
  else if (format === 'arrow') yield* readArrow(file, task, range);
  else yield* readJsonl(file, task);
}

export async function* readBenchmark(file: string, task?: EvalTask, range: RowRange = {}): AsyncGenerator<BenchmarkRow> {
  const r = { from: range.from ?? 0, to: range.to ?? Infinity };
  for await (const row of rowsOf(file, task, r)) {
    if (row.index >= r.to) return;
    if (row.index >= r.from) yield row;
  }
}

/** The number of rows in a split (Parquet: from the footer; Arrow: batch lengths; JSONL: non-empty lines). */
export async function countBenchmarkRows(file: string): Promise<number> {
  const format = await benchmarkFormat(file);
  if (format === 'parquet') {
    const { buffer, close } = await fileBuffer(file);
    try {
      return Number((await parquetMetadata(file, buffer)).num_rows);
    } finally {
      await close();
    }
  }
  let n = 0;
  if (format === 'arrow') {
    for await (const batch of await openArrow(file)) n += batch.numRows;
  } else {
    for await (const line of readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim() !== '') n++;
  }
  return n;
}

/** Arrow values as plain JS: vectors (list columns) become arrays, struct rows objects; bytes stay bytes. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined || v instanceof Uint8Array || typeof v !== 'object') return v;
  if (v instanceof Vector) return Array.from(v as Iterable<unknown>, plain);
  const o = v as { toJSON?: () => Record<string, unknown> };
  if (typeof o.toJSON === 'function') return Object.fromEntries(Object.entries(o.toJSON()).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function openArrow(file: string): Promise<RecordBatchReader> {
  try {
    const reader = await RecordBatchReader.from(openStream(file));
    await reader.open();
    return reader;
  } catch (e) {
    throw new BenchmarkFileError(`${file}: not an Arrow IPC stream (${(e as Error).message})`);
  }
}

async function* readArrow(file: string, task: EvalTask | undefined, range: Required<RowRange>): AsyncGenerator<BenchmarkRow> {
  const reader = await openArrow(file);
  let index = 0;
  for await (const batch of reader) {
    if (index >= range.to) break;
    if (index + batch.numRows <= range.from) {
      index += batch.numRows;
      continue;
    }
    for (let i = 0; i < batch.numRows; i++, index++) {
      const { image, ...fields } = plain(batch.get(i)) as Record<string, unknown>;
      check(task, fields, `${file} row ${index}`);
      const img = (image ?? {}) as { bytes?: Uint8Array | null; path?: string | null };
      yield { index, fields, image: { bytes: img.bytes ?? undefined, path: img.path ?? undefined } };
    }
  }
}

/** Random access to a file for hyparquet (its own helper is typed for ESM resolution only). */
async function fileBuffer(file: string): Promise<{ buffer: AsyncBuffer; close: () => Promise<void> }> {
  const handle = await fs.open(file, 'r');
  const { size } = await handle.stat();
  return {
    buffer: {
      byteLength: size,
      async slice(start: number, end = size) {
        const out = new Uint8Array(end - start);
        await handle.read(out, 0, out.length, start);
        return out.buffer;
      },
    },
    close: () => handle.close(),
  };
}

async function* readParquet(file: string, task: EvalTask | undefined, range: Required<RowRange>): AsyncGenerator<BenchmarkRow> {
  const { buffer, close } = await fileBuffer(file);
  try {
    yield* readParquetRows(file, buffer, task, range);
  } finally {
    await close();
  }
}

function parquetMetadata(file: string, buffer: AsyncBuffer) {
  return parquetMetadataAsync(buffer).catch((e: Error) => {
    throw new BenchmarkFileError(`${file}: not a Parquet file (${e.message})`);
  });
}

async function* readParquetRows(file: string, buffer: AsyncBuffer, task: EvalTask | undefined, range: Required<RowRange>): AsyncGenerator<BenchmarkRow> {
  const metadata = await parquetMetadata(file, buffer);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    if (start >= range.to) break;
    if (end <= range.from) {
      start = end;
      continue;
    }
    // utf8: false keeps unannotated binary (the image bytes) as bytes; STRING columns stay text.
    const rows = (await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end, utf8: false })) as Record<string, unknown>[];
    for (const [k, row] of rows.entries()) {
      const index = start + k;
      const { image, ...fields } = row;
      check(task, fields, `${file} row ${index}`);
      const img = (image ?? {}) as { bytes?: Uint8Array | null; path?: string | null };
      yield { index, fields, image: { bytes: img.bytes ?? undefined, path: img.path ?? undefined } };
    }
    start = end;
  }
}

async function* readJsonl(file: string, task?: EvalTask): AsyncGenerator<BenchmarkRow> {
  const lines = readline.createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let index = 0;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new BenchmarkFileError(`${file}:${lineNo}: invalid JSON (${(e as Error).message})`);
    }
    const { image, ...fields } = row;
    check(task, fields, `${file}:${lineNo}`);
    if (typeof image !== 'string' || image === '') throw new BenchmarkFileError(`${file}:${lineNo}: "image" must be a path`);
    yield { index: index++, fields, image: { path: path.resolve(path.dirname(file), image) } };
  }
}
