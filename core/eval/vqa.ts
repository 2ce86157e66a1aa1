// VQA-RAD / SLAKE / PathVQA scoring (docs/method.md §10.5): recall of OPEN answers over unigrams,
// and the raw-substring rule for CLOSED (yes/no) answers.
import { pySplit, pyStrip } from '../pytext';
import { normalizeWord } from './normalize';

export interface F1 {
  f1: number;
  precision: number;
  recall: number;
}

function counts(s: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const w of pySplit(pyStrip(s).toLowerCase())) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

/** LLaVA-Med's f1score: normalizes both again; TP counts the candidate's occurrences. */
export function f1score(candidate: string, reference: string): F1 {
  const cand = counts(normalizeWord(candidate));
  const ref = counts(normalizeWord(reference));
  if (cand.size === 0 || ref.size === 0) return { f1: 0, precision: 0, recall: 0 };
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const w of new Set([...cand.keys(), ...ref.keys()])) {
    const c = cand.get(w) ?? 0;
    if (c > 0 && ref.has(w)) tp += c;
    else if (c > 0) fp += c;
    else fn += ref.get(w)!;
  }
  if (tp === 0) return { f1: 0, precision: 0, recall: 0 };
  const precision = tp / (tp + fp);
  const recall = tp / (tp + fn);
  return { f1: (2 * precision * recall) / (precision + recall), precision, recall };
}

/** Raw recall (0..1) of one OPEN row. */
export function openRecall(pred: string, label: string): number {
  return f1score(normalizeWord(pred.toLowerCase()), normalizeWord(label.toLowerCase())).recall;
}

/** One CLOSED row: the prediction says yes or no (substrings: "no" is in "not") and contains the gold. */
export function closedHit(pred: string, label: string): boolean {
  const p = normalizeWord(pred.toLowerCase());
  const g = normalizeWord(label.toLowerCase());
  return (p.includes('yes') || p.includes('no')) && p.includes(g);
}
