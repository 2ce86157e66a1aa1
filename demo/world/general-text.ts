// The general distribution's language: where things are, how a shape is named, and the
// caption. Templated over a small vocabulary so a tiny tokenizer covers it, with several
// phrasings of each sentence so a tiny model has to read the picture, not memorise strings.
import type { PyRandom } from '../../core/pyrandom';
import { article, capitalise, counted, joinList } from './layout';
import type { GeneralScene, Shape } from './general-scene';

/** The nine places, as a precise answer names them (row-major from the top left). */
export const GENERAL_PLACES = ['top left', 'top', 'top right', 'left', 'middle', 'right', 'bottom left', 'bottom', 'bottom right'] as const;

/** "at the top left", "on the left", "in the middle": the place as a sentence says it. */
export function placePhrase(cell: number): string {
  const name = GENERAL_PLACES[cell];
  if (name === 'middle') return 'in the middle';
  if (name === 'left' || name === 'right') return `on the ${name}`;
  return `at the ${name}`;
}

/** "large red circle". */
export function describe(s: Shape): string {
  return `${s.size} ${s.colour} ${s.shape}`;
}

export type Asked = 'colour' | 'shape' | 'size' | 'place';

/**
 * Ways to name one shape of the scene uniquely, leaving out the attribute a question asks
 * about ("What colour is the circle?" only when there is one circle).
 */
export function references(scene: GeneralScene, s: Shape, asked: Asked): string[] {
  const refs: string[] = [];
  const only = (pred: (o: Shape) => boolean) => scene.shapes.filter(pred).length === 1;
  if (asked !== 'place') refs.push(`the object ${placePhrase(s.cell)}`);
  if (asked !== 'colour' && asked !== 'shape') refs.push(`the ${s.colour} ${s.shape}`);
  if (asked !== 'shape' && only((o) => o.shape === s.shape)) refs.push(`the ${s.shape}`);
  if (asked !== 'colour' && only((o) => o.colour === s.colour)) refs.push(`the ${s.colour} object`);
  if (asked !== 'size' && asked !== 'shape' && only((o) => o.size === s.size && o.shape === s.shape)) refs.push(`the ${s.size} ${s.shape}`);
  return refs;
}

function listSentence(r: PyRandom, items: string[]): string {
  const list = joinList(items);
  return r.choice([`There ${items.length === 1 ? 'is' : 'are'} ${list}.`, `It contains ${list}.`, `We can see ${list}.`]);
}

function perShapeSentences(r: PyRandom, shapes: Shape[]): string {
  return shapes
    .map((s) => {
      const what = describe(s);
      const where = placePhrase(s.cell);
      return r.choice([`${capitalise(article(what))} ${what} is ${where}.`, `${capitalise(where)} there is ${article(what)} ${what}.`, `${capitalise(article(what))} ${what} sits ${where}.`]);
    })
    .join(' ');
}

/** One to three sentences naming the background, the number of shapes and each shape's size, colour, shape and place. */
export function generalCaption(r: PyRandom, scene: GeneralScene): string {
  const n = scene.shapes.length;
  const many = counted(n, 'shape', 'shapes');
  const bg = `${article(scene.background)} ${scene.background} background`;
  const opening = r.choice([
    `A picture of ${many} on ${bg}.`,
    `The image shows ${many} on ${bg}.`,
    `${capitalise(many)} ${n === 1 ? 'is' : 'are'} drawn on ${bg}.`,
  ]);
  // Reading order or shuffled: the caption's order must not give away the layout.
  const order = r.random() < 0.5 ? [...scene.shapes] : r.shuffle([...scene.shapes]);
  const body = r.random() < 0.5 ? listSentence(r, order.map((s) => `${article(describe(s))} ${describe(s)} ${placePhrase(s.cell)}`)) : perShapeSentences(r, order);
  return `${opening} ${body}`;
}
