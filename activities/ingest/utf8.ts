// Byte-level UTF-8 checks for the annotation readers. Node's text decoding (readline, stream-json,
// csv-parse) silently turns invalid bytes into U+FFFD, so a caption in Latin-1 or a cut-off
// multi-byte character would reach the model as replacement characters. The readers look at
// the raw bytes instead and fail exactly the rows that hold invalid sequences.
import { Transform, type TransformCallback } from 'node:stream';

const fatal = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or null when they are not valid UTF-8 (a leading BOM is dropped). */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return fatal.decode(bytes);
  } catch {
    return null;
  }
}

/** The lines of a byte stream (split on \n, a trailing \r dropped), undecoded, numbered from 1. */
export async function* byteLines(input: AsyncIterable<Buffer>): AsyncGenerator<{ line: number; bytes: Buffer }> {
  let carry: Buffer[] = [];
  let line = 0;
  const done = (parts: Buffer[]) => {
    const b = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    return { line: ++line, bytes: b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b };
  };
  for await (const chunk of input) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      carry.push(chunk.subarray(start, nl));
      yield done(carry);
      carry = [];
      start = nl + 1;
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
  }
  if (carry.length > 0) yield done(carry);
}

/**
 * A streaming UTF-8 validator (the WHATWG decoder's rules: no overlong forms, no surrogates,
 * nothing above U+10FFFF). `byte` returns false for a byte that makes the input invalid.
 */
class Utf8State {
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;

  byte(b: number): boolean {
    if (this.need > 0) {
      if (b >= this.lo && b <= this.hi) {
        this.need--;
        this.lo = 0x80;
        this.hi = 0xbf;
        return true;
      }
      this.need = 0;
      this.lo = 0x80;
      this.hi = 0xbf;
      this.byte(b); // the decoder starts over at this byte
      return false;
    }
    if (b < 0x80) return true;
    if (b >= 0xc2 && b <= 0xdf) this.need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      this.need = 2;
      if (b === 0xe0) this.lo = 0xa0;
      if (b === 0xed) this.hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      this.need = 3;
      if (b === 0xf0) this.lo = 0x90;
      if (b === 0xf4) this.hi = 0x8f;
    } else return false;
    return true;
  }

  /** True when the input ended inside a multi-byte character. */
  get pending(): boolean {
    return this.need > 0;
  }
}

/**
 * Passes a JSON array's bytes through unchanged while noting which top-level elements hold
 * invalid UTF-8 (and on which line), so the reader can fail exactly those entries after
 * stream-json has decoded them with replacement characters. It tracks only what it needs to
 * find element boundaries: string state, nesting depth and the commas at depth 1. A parser
 * downstream sees an element only after these bytes went through, so `badRows` is current.
 */
export class JsonArrayUtf8Scan extends Transform {
  /** element index → line of its first invalid byte */
  readonly badRows = new Map<number, number>();
  /** line of the first invalid byte anywhere, for whole-file errors */
  firstBadLine: number | null = null;
  private readonly utf8 = new Utf8State();
  private line = 1;
  private depth = 0;
  private element = 0;
  private inString = false;
  private escaped = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    // State in locals: this loop sees every byte of the file.
    let { line, depth, element, inString, escaped } = this;
    const utf8 = this.utf8;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b >= 0x80 || utf8.pending) {
        if (!utf8.byte(b)) this.bad(depth, element, line);
        if (b >= 0x80) continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (b === 0x5c) escaped = true;
        else if (b === 0x22) inString = false;
        else if (b === 0x0a) line++; // not valid JSON, but counted for the message
      } else if (b === 0x0a) line++;
      else if (b === 0x22) inString = true;
      else if (b === 0x5b || b === 0x7b) depth++;
      else if (b === 0x5d || b === 0x7d) depth--;
      else if (b === 0x2c && depth === 1) element++;
    }
    Object.assign(this, { line, depth, element, inString, escaped });
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    if (this.utf8.pending) this.bad(this.depth, this.element, this.line);
    cb();
  }

  private bad(depth: number, element: number, line: number): void {
    this.firstBadLine ??= line;
    if (depth >= 1 && !this.badRows.has(element)) this.badRows.set(element, line);
  }
}
