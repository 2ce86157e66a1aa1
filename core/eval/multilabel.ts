// Multi-label scoring of FoodSeg103 (per-image F1) and Nutrition5K (per-image recall),
// docs/method.md §10.7: longest name first, plain substrings, every occurrence consumed.
import { removeAll } from '../pytext';

export interface Vocabulary {
  /** (id, name) pairs in id order */
  pairs: readonly (readonly [number, string])[];
}

const matchOrder = new WeakMap<Vocabulary, (readonly [number, string])[]>();

/** (id, lower-cased name), longest name first; Array.prototype.sort is stable, so ties keep id order. Computed once per vocabulary. */
function byLength(vocab: Vocabulary): (readonly [number, string])[] {
  let order = matchOrder.get(vocab);
  if (!order) {
    order = [...vocab.pairs].sort((a, b) => [...b[1]].length - [...a[1]].length).map(([id, name]) => [id, name.toLowerCase()] as const);
    matchOrder.set(vocab, order);
  }
  return order;
}

/** Ids of the names found in the response, in match order. */
export function parseMultiLabel(response: string, vocab: Vocabulary): number[] {
  let r = response.toLowerCase();
  const ids: number[] = [];
  for (const [id, n] of byLength(vocab)) {
    if (r.includes(n)) {
      ids.push(id);
      r = removeAll(r, n);
    }
  }
  return ids;
}

export type F1Convention = 'sklearn>=1.3' | 'sklearn-1.2';

/** Sample F1 with zero_division = 1, in either scikit-learn convention. */
export function sampleF1(pred: ReadonlySet<number>, gold: ReadonlySet<number>, convention: F1Convention): number {
  let tp = 0;
  for (const id of pred) if (gold.has(id)) tp++;
  const fp = pred.size - tp;
  const fn = gold.size - tp;
  if (convention === 'sklearn>=1.3') {
    const denom = 2 * tp + fp + fn;
    return denom === 0 ? 1 : (2 * tp) / denom;
  }
  const p = tp + fp === 0 ? 1 : tp / (tp + fp);
  const rec = tp + fn === 0 ? 1 : tp / (tp + fn);
  return p + rec === 0 ? 0 : (2 * p * rec) / (p + rec);
}

/** Sample recall with zero_division = 1. */
export function sampleRecall(pred: ReadonlySet<number>, gold: ReadonlySet<number>): number {
  if (gold.size === 0) return 1;
  let tp = 0;
  for (const id of gold) if (pred.has(id)) tp++;
  return tp / gold.size;
}
