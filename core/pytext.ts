// Python string semantics the method's text rules depend on (docs/method.md §10.9). JS `\s`
// differs from Python's whitespace set, so strip/split use an explicit class.

const PY_WS = '\\u0009-\\u000d\\u001c-\\u001f\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING = new RegExp(`^[${PY_WS}]+`, 'u');
const TRAILING = new RegExp(`[${PY_WS}]+$`, 'u');
const RUNS = new RegExp(`[${PY_WS}]+`, 'u');

/** Python `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(LEADING, '').replace(TRAILING, '');
}

/** Python `s.split()` (no argument): split on whitespace runs, dropping empty pieces. */
export function pySplit(s: string): string[] {
  const t = pyStrip(s);
  return t === '' ? [] : t.split(RUNS);
}

/** Python `s.replace(a, "")` semantics for any literal `a`, safe for `$` in the text. */
export function removeAll(s: string, a: string): string {
  return s.split(a).join('');
}

/** Number of non-overlapping occurrences of `a` in `s`. */
export function countOccurrences(s: string, a: string): number {
  return a === '' ? 0 : s.split(a).length - 1;
}
