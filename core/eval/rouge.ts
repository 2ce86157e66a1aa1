// Recipe1M ROUGE-L as pltrdy `rouge` 1.0.1 computes it with exclusive = True (docs/method.md §10.8):
// sentences split on every ".", set-based union LCS, the +1e-8 term, any exception → 0.
import { pySplit } from '../pytext';

/** CPython's recursion limit cut the original's recursive backtrack at about this many steps (D16). */
export const RECURSION_STEP_LIMIT = 975;

export interface RougeL {
  /** F × 100 */
  score: number;
  /** why the original would have raised (scored 0): no sentence, not text, recursion */
  error?: 'no sentence' | 'not text' | 'recursion limit';
}

function sentences(text: string): string[] {
  return text
    .split('.')
    .filter((piece) => piece.length > 0)
    .map((piece) => pySplit(piece).join(' ')); // a whitespace-only piece becomes the sentence ""
}

const words = (sents: string[]) => sents.flatMap((s) => s.split(' '));

class RecursionLimit extends Error {}

/** Words on the backtracked LCS path of reference x and hypothesis y, as pltrdy's _recon_lcs. */
function lcsWords(x: string[], y: string[]): Set<string> {
  const n = y.length;
  const t: Int32Array[] = Array.from({ length: x.length + 1 }, () => new Int32Array(n + 1));
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= n; j++) t[i][j] = x[i - 1] === y[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
  }
  const out = new Set<string>();
  let i = x.length;
  let j = n;
  let depth = 1;
  while (i > 0 && j > 0) {
    if (++depth > RECURSION_STEP_LIMIT) throw new RecursionLimit();
    if (x[i - 1] === y[j - 1]) {
      out.add(x[i - 1]);
      i--;
      j--;
    } else if (t[i - 1][j] > t[i][j - 1]) i--;
    else j--;
  }
  return out;
}

export function rougeL(hyp: unknown, ref: unknown): RougeL {
  if (typeof hyp !== 'string' || typeof ref !== 'string') return { score: 0, error: 'not text' };
  const hs = sentences(hyp);
  const rs = sentences(ref);
  if (hs.length === 0 || rs.length === 0) return { score: 0, error: 'no sentence' };
  const m = new Set(words(rs)).size;
  const n = new Set(words(hs)).size;
  const union = new Set<string>();
  try {
    for (const r of rs) {
      const x = r.split(' ');
      for (const h of hs) for (const w of lcsWords(x, h.split(' '))) union.add(w);
    }
  } catch (e) {
    if (e instanceof RecursionLimit) return { score: 0, error: 'recursion limit' };
    throw e;
  }
  const llcs = union.size;
  const r = llcs / m;
  const p = llcs / n;
  const f = 2.0 * ((p * r) / (p + r + 1e-8));
  return { score: f * 100 };
}
