// The domain's language: a pathologist's words for the same grammar. Regions are "upper left"
// and "centre" where the general pictures say "top left" and "middle"; things are cells of a
// type, not shapes of a colour; the stain and a dividing cell are facts only this domain has.
// The caption states every fact the benchmark asks about (stain, counts per type, each cell's
// region, which cell divides), so tasks synthesized from caption and image are learnable.
import type { PyRandom } from '../../core/pyrandom';
import { article, capitalise, counted, joinList } from './layout';
import { CELL_PLURALS, CELL_TYPES, type Cell, type CellType, type Slide } from './domain-scene';

/** The nine regions, as a precise answer names them (row-major from the upper left). */
export const DOMAIN_PLACES = ['upper left', 'upper centre', 'upper right', 'centre left', 'centre', 'centre right', 'lower left', 'lower centre', 'lower right'] as const;

export const STAIN_WORDS = { light: 'lightly', heavy: 'heavily' } as const;

/** The caption-task instructions of the ShareGPT pairs (the user turn, after `<image>`). */
export const DOMAIN_INSTRUCTIONS = ['Describe the slide.', 'Describe this stained field.', 'What does this slide show?'] as const;

export function regionPhrase(r: PyRandom, cell: number): string {
  return r.random() < 0.5 ? `in the ${DOMAIN_PLACES[cell]}` : `in the ${DOMAIN_PLACES[cell]} of the field`;
}

export function countOf(slide: Slide, type: CellType): number {
  return slide.cells.filter((c) => c.type === type).length;
}

/** "two lymphocytes and one macrophage", types in a fixed order so counts are easy to find. */
export function composition(slide: Slide): string {
  return joinList(CELL_TYPES.filter((t) => countOf(slide, t) > 0).map((t) => counted(countOf(slide, t), t, CELL_PLURALS[t])));
}

function perCellSentences(r: PyRandom, slide: Slide, cells: Cell[]): string[] {
  return cells.map((c) => {
    const one = countOf(slide, c.type) === 1;
    const subject = one ? `The ${c.type}` : capitalise(`${article(c.type)} ${c.type}`);
    return `${subject} ${r.choice(['lies', 'is seen', 'is located'])} ${regionPhrase(r, c.cell)}.`;
  });
}

function perTypeSentences(slide: Slide): string[] {
  return CELL_TYPES.filter((t) => countOf(slide, t) > 0).map((t) => {
    const places = slide.cells.filter((c) => c.type === t).map((c) => `the ${DOMAIN_PLACES[c.cell]}`);
    return places.length === 1 ? `The ${t} lies in ${places[0]}.` : `The ${CELL_PLURALS[t]} lie in ${joinList(places)}.`;
  });
}

function dividingSentence(r: PyRandom, slide: Slide): string {
  const d = slide.cells.find((c) => c.dividing);
  if (!d) return r.choice(['No cell is dividing.', 'None of the cells is dividing.', 'No dividing cell is seen.']);
  const where = DOMAIN_PLACES[d.cell];
  return r.choice([`The ${d.type} in the ${where} is dividing.`, `A dividing ${d.type} is seen in the ${where}.`, `One ${d.type}, in the ${where}, is dividing, with two nuclei.`]);
}

/** Three or four sentences: stain and number of cells, the types, where each cell lies, and division. */
export function domainCaption(r: PyRandom, slide: Slide): string {
  const n = slide.cells.length;
  const stain = STAIN_WORDS[slide.stain];
  const cells = counted(n, 'cell', 'cells');
  const opening = r.choice([`A ${stain} stained slide showing ${cells}.`, `This ${stain} stained field contains ${cells}.`, `Micrograph of ${stain} stained tissue with ${cells}.`]);
  const types = r.choice([`The cells are ${composition(slide)}.`, `They comprise ${composition(slide)}.`, `The field holds ${composition(slide)}.`]);
  const order = r.random() < 0.5 ? slide.cells : r.shuffle([...slide.cells]);
  const places = r.random() < 0.5 ? perCellSentences(r, slide, order) : perTypeSentences(slide);
  const division = dividingSentence(r, slide);
  // The division note goes early or last, so position in the caption carries no meaning.
  return (r.random() < 0.3 ? [opening, division, types, ...places] : [opening, types, ...places, division]).join(' ');
}
