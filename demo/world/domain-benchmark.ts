// The held-out domain benchmark's questions, in the layouts of the paper's biomedical tasks:
// VQA-RAD rows (CLOSED yes/no or OPEN one-or-two-word answers, scored by OPEN recall and the
// CLOSED rule, docs/method.md §10.5) and PMC-VQA rows (four options, label a letter, §10.6).
// Every question is answerable from the picture alone; every answer is read off the slide.
import type { PyRandom } from '../../core/pyrandom';
import { article, NUMBER_WORDS } from './layout';
import { CELL_PLURALS, CELL_TYPES, MAX_CELLS, type Slide } from './domain-scene';
import { countOf, DOMAIN_PLACES, STAIN_WORDS } from './domain-text';
import { fourOptions, LETTERS, sample } from './streams';

/** A VQA_RAD row without its image: what core/eval/tasks.ts reads (input, label, answer_type). */
export interface VqaFields {
  input: string;
  label: string;
  answer_type: 'OPEN' | 'CLOSED';
}

/** A PMC_VQA row without its image: input, the gold letter and the four option texts. */
export interface ChoiceFields {
  input: string;
  label: string;
  A: string;
  B: string;
  C: string;
  D: string;
}

type Closed = (r: PyRandom, s: Slide, want: boolean) => string | null;
type Open = (r: PyRandom, s: Slide) => { question: string; answer: string; pool: readonly string[] } | null;

const present = (s: Slide) => CELL_TYPES.filter((t) => countOf(s, t) > 0);
const absent = (s: Slide) => CELL_TYPES.filter((t) => countOf(s, t) === 0);
const typeAt = (s: Slide, cell: number) => s.cells.find((c) => c.cell === cell)?.type;

/** A type seen exactly once, so "the macrophage" names one cell. */
const singles = (s: Slide) => CELL_TYPES.filter((t) => countOf(s, t) === 1);

const CLOSED: Closed[] = [
  (r, s, want) => {
    const pool = want ? present(s) : absent(s);
    if (pool.length === 0) return null;
    const t = r.choice(pool);
    return r.choice([`Is there ${article(t)} ${t} in this field?`, `Are any ${CELL_PLURALS[t]} present on the slide?`, `Does the slide show any ${CELL_PLURALS[t]}?`]);
  },
  (r, s, want) => {
    if (s.cells.some((c) => c.dividing) !== want) return null;
    return r.choice(['Is any cell dividing?', 'Is there a dividing cell on the slide?', 'Does this field show a cell that is dividing?']);
  },
  (r, s, want) => {
    const cells = DOMAIN_PLACES.map((_, i) => i).filter((i) => (typeAt(s, i) !== undefined) === want);
    if (cells.length === 0) return null;
    return `Is there a cell in the ${DOMAIN_PLACES[r.choice(cells)]}?`;
  },
  (r, s, want) => {
    const c = r.choice(s.cells);
    const t = want ? c.type : r.choice(CELL_TYPES.filter((x) => x !== c.type));
    return r.choice([`Is the cell in the ${DOMAIN_PLACES[c.cell]} ${article(t)} ${t}?`, `Is the cell lying in the ${DOMAIN_PLACES[c.cell]} ${article(t)} ${t}?`]);
  },
  (r, s, want) => {
    const asked = want ? s.stain : s.stain === 'light' ? 'heavy' : 'light';
    return r.choice([`Is the slide ${STAIN_WORDS[asked]} stained?`, `Is this field ${STAIN_WORDS[asked]} stained?`]);
  },
  (r, s, want) => {
    const pairs = CELL_TYPES.flatMap((a) => CELL_TYPES.filter((b) => b !== a && countOf(s, a) !== countOf(s, b) && countOf(s, a) > countOf(s, b) === want).map((b) => [a, b] as const));
    if (pairs.length === 0) return null;
    const [a, b] = r.choice(pairs);
    return `Are there more ${CELL_PLURALS[a]} than ${CELL_PLURALS[b]}?`;
  },
];

const COUNTS = NUMBER_WORDS.slice(1, MAX_CELLS + 2);

const OPEN: Open[] = [
  (r, s) => ({ question: r.choice(['How many cells are in this field?', 'How many cells does the slide show?']), answer: NUMBER_WORDS[s.cells.length], pool: COUNTS }),
  (r, s) => {
    const t = r.choice(present(s));
    return { question: r.choice([`How many ${CELL_PLURALS[t]} are there?`, `How many ${CELL_PLURALS[t]} can be seen?`]), answer: NUMBER_WORDS[countOf(s, t)], pool: COUNTS };
  },
  (r, s) => {
    const c = r.choice(s.cells);
    return { question: r.choice([`What type of cell is in the ${DOMAIN_PLACES[c.cell]}?`, `Which cell type lies in the ${DOMAIN_PLACES[c.cell]}?`]), answer: c.type, pool: CELL_TYPES };
  },
  (r, s) => {
    const one = singles(s);
    if (one.length === 0) return null;
    const t = r.choice(one);
    const c = s.cells.find((x) => x.type === t)!;
    return { question: r.choice([`Where is the ${t}?`, `In which region is the ${t}?`]), answer: DOMAIN_PLACES[c.cell], pool: DOMAIN_PLACES };
  },
  (r, s) => {
    const d = s.cells.find((c) => c.dividing);
    if (!d) return null;
    return r.choice([
      { question: r.choice(['Which type of cell is dividing?', 'What kind of cell is dividing?']), answer: d.type, pool: CELL_TYPES },
      { question: r.choice(['Where is the dividing cell?', 'In which region is the cell that is dividing?']), answer: DOMAIN_PLACES[d.cell], pool: DOMAIN_PLACES },
    ]);
  },
  (r, s) => {
    const ranked = present(s).sort((a, b) => countOf(s, b) - countOf(s, a));
    if (ranked.length > 1 && countOf(s, ranked[0]) === countOf(s, ranked[1])) return null;
    return { question: r.choice(['Which cell type is most common?', 'What is the most frequent type of cell on the slide?']), answer: ranked[0], pool: CELL_TYPES };
  },
];

/** Row `index` of the VQA_RAD file: even rows CLOSED (yes and no equally likely), odd rows OPEN. */
export function vqaRow(r: PyRandom, slide: Slide, index: number): VqaFields {
  if (index % 2 === 0) {
    const want = r.random() < 0.5;
    for (const make of sample(r, CLOSED, CLOSED.length)) {
      const q = make(r, slide, want);
      if (q) return { input: q, label: want ? 'yes' : 'no', answer_type: 'CLOSED' };
    }
    throw new Error('vqaRow: no CLOSED question fits the slide'); // unreachable: the stain question always fits
  }
  const o = firstOpen(r, slide);
  return { input: o.question, label: o.answer, answer_type: 'OPEN' };
}

function firstOpen(r: PyRandom, slide: Slide): NonNullable<ReturnType<Open>> {
  for (const make of sample(r, OPEN, OPEN.length)) {
    const o = make(r, slide);
    if (o) return o;
  }
  throw new Error('no OPEN question fits the slide'); // unreachable: counting always fits
}

/** A PMC_VQA row: an OPEN-style question with four options written into the input, label a letter. */
export function choiceRow(r: PyRandom, slide: Slide): ChoiceFields {
  const o = firstOpen(r, slide);
  const { options, letter } = fourOptions(r, o.answer, o.pool);
  const input = `Question: ${o.question}\nOptions:\n${options.map((x, i) => `${LETTERS[i]}. ${x}`).join('\n')}\nAnswer with the option's letter.`;
  return { input, label: letter, A: options[0], B: options[1], C: options[2], D: options[3] };
}

