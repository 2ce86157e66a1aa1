// The world's consistency judge (docs/method.md §6) learns from the general seed tasks: the trainer's
// completion rows, {prompt: judgePrompt(question, informative, precise), completion: label}.
// Every seed task gives one consistent row (its own precise answer, " Yes") and one inconsistent
// row (a precise answer the informative one contradicts, " No"), so the labels are balanced per
// task type and the judge cannot learn the label from the question alone.
//
// No " Open" rows. The world's "open" tasks have one right answer read off the scene (the
// background, what is at a place, the most common colour), like every other type, and nothing in
// the world asks for a description or an opinion as a task. Labelling anything Open would mean
// inventing questions the world's synthesizer never writes, and Open keeps nothing anyway (only
// "yes" keeps, §6.3), so the judge's one job here is Yes against No.
import { judgePrompt } from '../../core/judge/prompt';
import { PyRandom } from '../../core/pyrandom';
import { BACKGROUNDS, COLOUR_NAMES, MAX_GENERAL_SHAPES, SHAPES, SIZES } from './general-scene';
import { GENERAL_PLACES } from './general-text';
import { NUMBER_WORDS } from './layout';
import { LETTERS } from './streams';
import type { SeedRow } from '../../core/synth/seed-set';

/** One training row of the trainer's `sequence: "completion"` (which takes these two keys and no other). */
export interface JudgeRow {
  prompt: string;
  completion: ' Yes' | ' No';
}

export interface JudgeRowsOptions {
  /** seeds the inconsistent answers and the row order */
  seed: number;
  /** use at most this many seed tasks (a seeded sample, all when absent) */
  maxTasks?: number;
  /**
   * 'judge' (default): the filter stage's whole prompt (judgePrompt: instructions, six
   * demonstrations, the query block). 'query': the query block alone ("Question: …" to
   * "Consistent:"), 14 times shorter: a first training stage for a tiny judge trained from
   * nothing, which learns to compare the two answers from these in seconds but not from the full
   * prompt in minutes (the constant ~430-token prefix dilutes a one-token signal); a second stage
   * on 'judge' rows then teaches it to read past the prefix. Measured in demo/diagnostics/judge-world.ts.
   */
  prompt?: 'judge' | 'query';
}

/** The query block of a judge prompt: from its last "Question:" on. */
const queryBlock = (prompt: string) => prompt.slice(prompt.lastIndexOf('\n\nQuestion:') + 2);

/**
 * The pools a precise answer is drawn from in general-tasks.ts: another value of the same pool is
 * another count, colour, letter, place…, which the informative answer contradicts.
 */
const POOLS: readonly (readonly string[])[] = [
  ['yes', 'no'],
  LETTERS,
  NUMBER_WORDS.slice(0, MAX_GENERAL_SHAPES + 1),
  COLOUR_NAMES,
  SHAPES,
  SIZES,
  GENERAL_PLACES,
  BACKGROUNDS,
];

/**
 * A precise answer that contradicts `informative`, of the same kind as `precise`: yes↔no, another
 * letter, count, colour, shape, size, place or background; for "colour shape" (the open "what is
 * at …" task) another colour or another shape. Null when `precise` is of no known kind. A word
 * the informative answer contains is never picked (it might not contradict it: "top" in "top left").
 */
export function contradict(r: PyRandom, informative: string, precise: string): string | null {
  const said = new Set(informative.toLowerCase().match(/[a-z]+/g) ?? []);
  const other = (pool: readonly string[], v: string) => {
    const rest = pool.filter((x) => x !== v && (pool.length <= 2 || LETTERS.includes(x as never) || !x.split(' ').every((w) => said.has(w))));
    return rest.length ? r.choice(rest) : null;
  };
  const pool = POOLS.find((p) => p.includes(precise));
  if (pool) return other(pool, precise);
  const [colour, shape, ...more] = precise.split(' ');
  if (more.length === 0 && COLOUR_NAMES.includes(colour as never) && SHAPES.includes(shape as never)) {
    const [c, sh] = r.random() < 0.5 ? [other(COLOUR_NAMES, colour), shape] : [colour, other(SHAPES, shape)];
    return c && sh ? `${c} ${sh}` : null;
  }
  return null;
}

/**
 * The judge's training rows from the world's general seed tasks: per task a " Yes" row and a " No"
 * row (a contradicting precise answer; a task whose answer is of no known kind is left out), in a
 * seeded order. The same rows and options give the same rows.
 */
export function judgeRowsOf(seed: readonly SeedRow[], opts: JudgeRowsOptions): JudgeRow[] {
  const r = new PyRandom(opts.seed);
  let tasks = seed.flatMap((row) => row.tasks);
  if (opts.maxTasks !== undefined && opts.maxTasks < tasks.length) tasks = r.shuffle([...tasks]).slice(0, opts.maxTasks);
  const rows: JudgeRow[] = [];
  for (const t of tasks) {
    const wrong = contradict(r, t.informative, t.precise);
    if (wrong === null) continue;
    const form = opts.prompt === 'query' ? queryBlock : (p: string) => p;
    rows.push({ prompt: form(judgePrompt(t.question, t.informative, t.precise)), completion: ' Yes' });
    rows.push({ prompt: form(judgePrompt(t.question, t.informative, wrong)), completion: ' No' });
  }
  return r.shuffle(rows);
}

/**
 * The judge prompt's fixed text, one line per line, for the world tokenizer's corpus: a
 * tokenizer that has seen the prompt's words spends fewer tokens on its ~7.5 kB, which is most of
 * what the judge reads for every task.
 */
export function judgeCorpusLines(): string[] {
  return judgePrompt('', '', '').split('\n').filter((l) => l.trim() !== '');
}
