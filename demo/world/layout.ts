// The grammar both distributions share: objects sit in distinct cells of a 3×3 grid, so
// "where is it", "how many" and "left of / above" always have one right answer, and a tiny
// vision encoder (a 112 px image is 8×8 patches of 14 px) sees each object in its own region.
// Also the few English helpers both vocabularies use (number words, lists, plurals).
import type { PyRandom } from '../../core/pyrandom';
import { uniform } from './streams';

export const GRID = 3;

export interface Placement {
  /** 0..8, row-major from the top left */
  cell: number;
  row: number;
  col: number;
  /** centre, as fractions of the image side */
  x: number;
  y: number;
}

/**
 * Jitter of a centre inside its cell, as a fraction of the side. Small enough that the largest
 * object (radius 0.135 side) stays inside its third of the image (half a cell is 0.167).
 */
const JITTER = 0.03;

/** n objects in n distinct cells, in cell order. */
export function placeInCells(r: PyRandom, n: number): Placement[] {
  const cells = r
    .shuffle(Array.from({ length: GRID * GRID }, (_, i) => i))
    .slice(0, n)
    .sort((a, b) => a - b);
  return cells.map((cell) => {
    const row = Math.floor(cell / GRID);
    const col = cell % GRID;
    return { cell, row, col, x: (col + 0.5) / GRID + uniform(r, -JITTER, JITTER), y: (row + 0.5) / GRID + uniform(r, -JITTER, JITTER) };
  });
}

export type Relation = 'left' | 'right' | 'above' | 'below';

/** Whether a stands in `rel` to b, by grid cells; null when the cells do not decide it (same column or row). */
export function relation(a: Placement, b: Placement, rel: Relation): boolean | null {
  switch (rel) {
    case 'left':
    case 'right':
      if (a.col === b.col) return null;
      return rel === 'left' ? a.col < b.col : a.col > b.col;
    case 'above':
    case 'below':
      if (a.row === b.row) return null;
      return rel === 'above' ? a.row < b.row : a.row > b.row;
  }
}

export const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

export function numberWord(n: number): string {
  const w = NUMBER_WORDS[n];
  if (w === undefined) throw new RangeError(`no number word for ${n}`);
  return w;
}

/** "a", "a and b", "a, b and c". */
export function joinList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "one circle", "three crosses". */
export function counted(n: number, singular: string, plural: string): string {
  return `${numberWord(n)} ${n === 1 ? singular : plural}`;
}

/** The article for a phrase (only the words of this world). */
export function article(phrase: string): string {
  return /^[aeiou]/.test(phrase) ? 'an' : 'a';
}
