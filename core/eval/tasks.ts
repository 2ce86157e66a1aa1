// The benchmark registry: the paper's eight tasks, each with its fields, decoding budget,
// answer extraction and metric (docs/method.md §10). A new task is one entry here.
import food101Json from './labels/food101_classes.json';
import foodseg103Json from './labels/foodseg103_id2label.json';
import nutrition5kJson from './labels/nutrition5k_ingredients.json';
import { parseMultipleChoice, type ParseStage } from './multiple-choice';
import { parseMultiLabel, sampleF1, sampleRecall, type F1Convention, type Vocabulary } from './multilabel';
import { rougeL } from './rouge';
import { closedHit, openRecall } from './vqa';
import { TASK_NAMES, type TaskName } from './task-names';

export interface EvalRow {
  input?: string;
  label?: unknown;
  pred?: unknown;
  answer_type?: string;
  A?: string;
  B?: string;
  C?: string;
  D?: string;
  [field: string]: unknown;
}

export interface RowScore {
  index: number;
  /** item score × 100; null when the row does not count for any metric (VQA answer_type other) */
  score: number | null;
  /** VQA rows: which metric the row feeds */
  kind?: 'open' | 'closed' | 'other';
  /** raw value before × 100 (OPEN recall), kept for the paper's divide-then-multiply */
  raw?: number;
  parsed?: string | number[];
  stage?: ParseStage;
  random?: boolean;
  /** no prediction (D9): scored 0 and kept in N */
  missing?: boolean;
  error?: string;
}

export interface ScoreOptions {
  f1Convention: F1Convention;
}

export interface EvalTask {
  name: TaskName;
  domain: 'biomed' | 'food';
  /** the Hugging Face dataset and config the paper evaluates */
  dataset: string;
  config: string;
  maxNewTokens: number;
  fields: readonly string[];
  scoreRow(row: EvalRow, index: number, o: ScoreOptions): RowScore;
  aggregate(rows: Aggregator): Record<string, number | null>;
}

/** Running sums, so a large split is scored in one streaming pass. */
export class Aggregator {
  n = 0;
  sum = 0;
  openN = 0;
  openRawSum = 0;
  closedN = 0;
  closedHits = 0;
  missing = 0;
  random = 0;
  errors = 0;

  add(s: RowScore): void {
    this.n++;
    if (s.missing) this.missing++;
    if (s.random) this.random++;
    if (s.error) this.errors++;
    if (s.kind === 'open') {
      this.openN++;
      this.openRawSum += s.raw ?? 0;
    } else if (s.kind === 'closed') {
      this.closedN++;
      if (s.score === 100) this.closedHits++;
    }
    if (s.score !== null) this.sum += s.score; // left to right, in row order
  }
}

export { TASK_NAMES, type TaskName };

const text = (v: unknown): string | null => (typeof v === 'string' ? v : v === null || v === undefined ? null : String(v));

function vqaTask(name: TaskName, config: string): EvalTask {
  return {
    name,
    domain: 'biomed',
    dataset: 'AdaptLLM/biomed-VQA-benchmark',
    config,
    maxNewTokens: 1024,
    fields: ['input', 'label', 'answer_type'],
    scoreRow(row, index) {
      const pred = text(row.pred);
      const label = text(row.label) ?? '';
      const kind = row.answer_type === 'OPEN' ? 'open' : row.answer_type === 'CLOSED' ? 'closed' : 'other';
      if (kind === 'other') return { index, score: null, kind, missing: pred === null };
      if (pred === null) return { index, score: 0, kind, raw: 0, missing: true };
      if (kind === 'open') {
        const raw = openRecall(pred, label);
        return { index, score: raw * 100, kind, raw };
      }
      return { index, score: closedHit(pred, label) ? 100 : 0, kind };
    },
    aggregate: (a) => ({
      test_num: a.n,
      // Divide, then multiply (docs/method.md §10.3); no OPEN rows gives null instead of a crash (D10).
      'OPEN recall': a.openN === 0 ? null : (a.openRawSum / a.openN) * 100,
      'CLOSED yes/no accuracy': a.closedN === 0 ? 0.0 : (a.closedHits / a.closedN) * 100,
    }),
  };
}

const mean = (key: string) => (a: Aggregator) => ({ test_num: a.n, [key]: a.n === 0 ? null : a.sum / a.n });

function choiceTask(name: TaskName, domain: 'biomed' | 'food', config: string, maxNewTokens: number, options: (row: EvalRow) => { choices: string[]; index2ans: Map<string, string>; gold: string }): EvalTask {
  return {
    name,
    domain,
    dataset: domain === 'biomed' ? 'AdaptLLM/biomed-VQA-benchmark' : 'AdaptLLM/food-VQA-benchmark',
    config,
    maxNewTokens,
    fields: name === 'PMC_VQA' ? ['input', 'label', 'A', 'B', 'C', 'D'] : ['input', 'label'],
    scoreRow(row, index) {
      const pred = text(row.pred);
      if (pred === null) return { index, score: 0, missing: true };
      const { choices, index2ans, gold } = options(row);
      const parsed = parseMultipleChoice(pred, choices, index2ans, index);
      return { index, score: parsed.answer === gold ? 100 : 0, parsed: parsed.answer, stage: parsed.stage, random: parsed.random };
    },
    aggregate: mean('acc'),
  };
}

const FOOD101 = (food101Json as string[]).map((n) => n.replace(/_/g, ' '));
const FOOD101_CHOICES = FOOD101.map((_, i) => String(i));
const FOOD101_INDEX2ANS = new Map(FOOD101.map((n, i) => [String(i), n]));

/** The class id of a Food101 label, given with underscores or spaces. */
export function food101Id(label: string): number {
  const id = FOOD101.indexOf(label.replace(/_/g, ' '));
  if (id < 0) throw new Error(`unknown Food101 class "${label}"`);
  return id;
}

const FOODSEG = Object.entries(foodseg103Json as Record<string, string>).map(([k, v]) => [Number(k), v] as const);
/** Ids 0 (background) and 103 (other ingredients) are not scored. */
export const FOODSEG_VOCAB: Vocabulary = { pairs: FOODSEG.filter(([id]) => id !== 0 && id !== 103) };
const FOODSEG_BY_NAME = new Map(FOODSEG.map(([id, name]) => [name, id]));

const NUTRITION = nutrition5kJson as string[];
export const NUTRITION_VOCAB: Vocabulary = { pairs: NUTRITION.map((n, i) => [i, n] as const) };
/** A repeated name maps to its last id (D15: `deprecated` can never be a hit). */
const NUTRITION_BY_NAME = new Map(NUTRITION.map((n, i) => [n, i]));

/** Multi-label gold names: a list, or one comma-separated string. */
export function labelNames(label: unknown): string[] {
  if (Array.isArray(label)) return label.map(String);
  if (typeof label === 'string') return label.split(',').map((s) => s.trim()).filter(Boolean);
  return [];
}

function goldIds(label: unknown, byName: Map<string, number>): Set<number> {
  const ids = new Set<number>();
  for (const n of labelNames(label)) {
    const id = byName.get(n);
    if (id !== undefined) ids.add(id);
  }
  return ids;
}

export const TASKS: Record<TaskName, EvalTask> = {
  VQA_RAD: vqaTask('VQA_RAD', 'VQA_RAD'),
  SLAKE: vqaTask('SLAKE', 'SLAKE'),
  PathVQA: vqaTask('PathVQA', 'PathVQA'),
  PMC_VQA: choiceTask('PMC_VQA', 'biomed', 'PMC-VQA', 1024, (row) => {
    const choices = ['A', 'B', 'C', 'D'];
    return { choices, index2ans: new Map(choices.map((c) => [c, text(row[c]) ?? ''])), gold: text(row.label) ?? '' };
  }),
  Food101: choiceTask('Food101', 'food', 'Food101', 256, (row) => ({ choices: FOOD101_CHOICES, index2ans: FOOD101_INDEX2ANS, gold: String(food101Id(text(row.label) ?? '')) })),
  FoodSeg103: {
    name: 'FoodSeg103',
    domain: 'food',
    dataset: 'AdaptLLM/food-VQA-benchmark',
    config: 'FoodSeg103',
    maxNewTokens: 256,
    fields: ['input', 'label'],
    scoreRow(row, index, o) {
      const pred = text(row.pred);
      if (pred === null) return { index, score: 0, missing: true, parsed: [] };
      const gold = new Set([...goldIds(row.label, FOODSEG_BY_NAME)].filter((id) => id !== 0 && id !== 103));
      const ids = parseMultiLabel(pred, FOODSEG_VOCAB);
      return { index, score: sampleF1(new Set(ids), gold, o.f1Convention) * 100, parsed: ids };
    },
    aggregate: mean('f1'),
  },
  Nutrition5K: {
    name: 'Nutrition5K',
    domain: 'food',
    dataset: 'AdaptLLM/food-VQA-benchmark',
    config: 'Nutrition5K',
    maxNewTokens: 256,
    fields: ['input', 'label'],
    scoreRow(row, index) {
      const pred = text(row.pred);
      if (pred === null) return { index, score: 0, missing: true, parsed: [] };
      const ids = parseMultiLabel(pred, NUTRITION_VOCAB);
      return { index, score: sampleRecall(new Set(ids), goldIds(row.label, NUTRITION_BY_NAME)) * 100, parsed: ids };
    },
    aggregate: mean('recall'),
  },
  Recipe1M: {
    name: 'Recipe1M',
    domain: 'food',
    dataset: 'AdaptLLM/food-VQA-benchmark',
    config: 'Recipe1M',
    maxNewTokens: 1024,
    fields: ['input', 'label'],
    scoreRow(row, index) {
      const r = rougeL(row.pred, row.label);
      return { index, score: r.score, missing: row.pred === null || row.pred === undefined, error: r.error };
    },
    aggregate: mean('rl'),
  },
};

/** Resolves a task name loosely: case, "-" and "_" do not matter (PMC-VQA = PMC_VQA = pmc_vqa). */
export function findTask(name: string): EvalTask {
  const key = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const t = TASK_NAMES.find((n) => key(n) === key(name));
  if (!t) throw new Error(`unknown task "${name}": one of ${TASK_NAMES.join(', ')}`);
  return TASKS[t];
}
