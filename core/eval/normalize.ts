// `normalize_word` of the VQA-family evaluation (LLaVA-Med), quirks included (docs/method.md §10.4).
// The caller lower-cases first; the punctuation tests read that input, never the working copy.
import { pySplit, removeAll } from '../pytext';
import contractionsJson from './labels/contractions.json';

const PUNCTUATION = [';', '/', '[', ']', '"', '{', '}', '(', ')', '=', '+', '\\', '_', '-', '>', '<', '@', '`', ',', '?', '!'];
const COMMA_DIGIT = /\p{Nd},\p{Nd}/u;
const DIGIT = /\p{Nd}/u;
/** A regex flag (re.UNICODE = 32) passed in the count position caps the period removals. */
const MAX_PERIODS = 32;
const NUMBERS: Record<string, string> = { none: '0', zero: '0', one: '1', two: '2', three: '3', four: '4', five: '5', six: '6', seven: '7', eight: '8', nine: '9', ten: '10' };
const ARTICLES = new Set(['a', 'an', 'the']);
const CONTRACTIONS: Record<string, string> = contractionsJson;

/** Deletes the first 32 periods not followed by a decimal digit (decided on the input string). */
function stripPeriods(s: string): string {
  const chars = [...s];
  let removed = 0;
  const out: string[] = [];
  chars.forEach((c, i) => {
    if (c === '.' && removed < MAX_PERIODS && !(i + 1 < chars.length && DIGIT.test(chars[i + 1]))) {
      removed++;
      return;
    }
    out.push(c);
  });
  return out.join('');
}

export function normalizeWord(t0: string): string {
  let w = t0;
  const commaDigit = COMMA_DIGIT.test(t0);
  for (const p of PUNCTUATION) {
    const spaced = t0.includes(`${p} `) || t0.includes(` ${p}`);
    w = spaced || commaDigit ? removeAll(w, p) : w.split(p).join(' ');
  }
  w = stripPeriods(w);
  const words: string[] = [];
  for (const word of pySplit(w.toLowerCase())) {
    const mapped = Object.prototype.hasOwnProperty.call(NUMBERS, word) ? NUMBERS[word] : word;
    if (!ARTICLES.has(mapped)) words.push(mapped);
  }
  const contracted = words.map((x) => (Object.prototype.hasOwnProperty.call(CONTRACTIONS, x) ? CONTRACTIONS[x] : x));
  return removeAll(contracted.join(' '), ',');
}
