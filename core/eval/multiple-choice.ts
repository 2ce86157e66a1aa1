// The MMMU-derived multiple-choice parser of PMC-VQA and Food101 (docs/method.md §10.6).
import { PyRandom } from '../pyrandom';

const EDGE_CHARS = [',', '.', '!', '?', ';', ':', "'"];

/** Python `s.strip(ch)`: that one character, from both ends, whitespace untouched. */
function stripChar(s: string, ch: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s[a] === ch) a++;
  while (b > a && s[b - 1] === ch) b--;
  return s.slice(a, b);
}

export type ParseStage = 'bracket' | 'spaced' | 'content' | 'random';

export interface ChoiceParse {
  /** a choice label (bracket, spaced, random) or an index2ans key (content): compare as strings */
  answer: string;
  stage: ParseStage;
  random: boolean;
}

/**
 * Parses a response into one of `choices`. `index2ans` maps labels to option texts in order;
 * `seed` (the row index) seeds the CPython-compatible fallback for unparsable responses.
 */
export function parseMultipleChoice(response: string, choices: readonly string[], index2ans: ReadonlyMap<string, string>, seed: number): ChoiceParse {
  let resp = response;
  for (const ch of EDGE_CHARS) resp = stripChar(resp, ch);
  const r = ` ${resp} `;
  let stage: ParseStage = 'bracket';
  let candidates = choices.filter((c) => r.includes(`(${c})`));
  if (candidates.length === 0) {
    stage = 'spaced';
    candidates = choices.filter((c) => r.includes(` ${c} `));
  }
  const lower = r.toLowerCase();
  if (candidates.length === 0 && [...r].length > 5) {
    stage = 'content';
    candidates = [...index2ans.entries()].filter(([, text]) => lower.includes(text.toLowerCase())).map(([k]) => k);
  }
  if (candidates.length === 0) return { answer: new PyRandom(seed).choice(choices), stage: 'random', random: true };
  if (candidates.length === 1) return { answer: candidates[0], stage, random: false };
  const position = (c: string) =>
    stage === 'bracket' ? r.lastIndexOf(`(${c})`) : stage === 'spaced' ? r.lastIndexOf(` ${c} `) : lower.lastIndexOf(index2ans.get(c)!.toLowerCase());
  // numpy argmax: the first of equal maxima wins.
  let best = candidates[0];
  let bestPos = position(best);
  for (const c of candidates.slice(1)) {
    const p = position(c);
    if (p > bestPos) {
      best = c;
      bestPos = p;
    }
  }
  return { answer: best, stage, random: false };
}
