// The general seed tasks: per image, questions of several types, each with an informative
// answer (a full sentence) and a precise answer (one or two words, or a letter), as the
// paper's synthesizer is trained on (docs/method.md §5.2). Every answer is read off the scene, so
// it is right by construction; a generator returns null when the scene cannot pose its question.
import type { PyRandom } from '../../core/pyrandom';
import { article, capitalise, counted, NUMBER_WORDS, relation, type Relation } from './layout';
import { BACKGROUNDS, COLOUR_NAMES, MAX_GENERAL_SHAPES, SHAPE_PLURALS, SHAPES, type GeneralScene, type Shape } from './general-scene';
import { describe, GENERAL_PLACES, placePhrase, references } from './general-text';
import { chance, fourOptions, LETTERS, sample } from './streams';

export const GENERAL_TASK_TYPES = ['attribute', 'counting', 'spatial', 'yesno', 'choice', 'open'] as const;
export type GeneralTaskType = (typeof GENERAL_TASK_TYPES)[number];

export interface GeneralTask {
  type: GeneralTaskType;
  question: string;
  /** a full sentence */
  informative: string;
  /** a short answer: a word or two, yes/no, or an option letter */
  precise: string;
}

type Draft = Omit<GeneralTask, 'type'>;
type Maker = (r: PyRandom, scene: GeneralScene) => Draft | null;

/** How many tasks each image gets (of distinct types). */
export const TASKS_PER_IMAGE = 4;

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

function attribute(r: PyRandom, scene: GeneralScene): Draft {
  const s = r.choice(scene.shapes);
  const asked = r.choice(['colour', 'shape', 'size'] as const);
  const ref = r.choice(references(scene, s, asked));
  if (asked === 'colour') {
    const question = r.choice([`What colour is ${ref}?`, `Which colour does ${ref} have?`, `Tell me the colour of ${ref}.`]);
    return { question, informative: `${capitalise(ref)} is ${s.colour}.`, precise: s.colour };
  }
  if (asked === 'shape') {
    const question = r.choice([`What shape is ${ref}?`, `What kind of shape is ${ref}?`, `Name the shape of ${ref}.`]);
    return { question, informative: `${capitalise(ref)} is a ${s.shape}.`, precise: s.shape };
  }
  const question = r.choice([`Is ${ref} small or large?`, `What size is ${ref}?`, `How big is ${ref}, small or large?`]);
  return { question, informative: `${capitalise(ref)} is ${s.size}.`, precise: s.size };
}

function counting(r: PyRandom, scene: GeneralScene): Draft {
  const s = r.choice(scene.shapes);
  const by = r.choice(['all', 'colour', 'shape', 'size'] as const);
  const [match, one, many] =
    by === 'all'
      ? [() => true, 'shape', 'shapes']
      : by === 'colour'
        ? [(o: Shape) => o.colour === s.colour, `${s.colour} shape`, `${s.colour} shapes`]
        : by === 'shape'
          ? [(o: Shape) => o.shape === s.shape, s.shape, SHAPE_PLURALS[s.shape]]
          : [(o: Shape) => o.size === s.size, `${s.size} shape`, `${s.size} shapes`];
  const n = scene.shapes.filter(match).length;
  const question = r.choice([`How many ${many} are there?`, `How many ${many} can you see?`, `Count the ${many} in the picture.`, `What is the number of ${many} in the image?`]);
  return { question, informative: `There ${n === 1 ? 'is' : 'are'} ${counted(n, one, many)} in the picture.`, precise: NUMBER_WORDS[n] };
}

const REL_PHRASE: Record<Relation, string> = { left: 'to the left of', right: 'to the right of', above: 'above', below: 'below' };
const OPPOSITE: Record<Relation, Relation> = { left: 'right', right: 'left', above: 'below', below: 'above' };

function spatial(r: PyRandom, scene: GeneralScene): Draft {
  const pairs = scene.shapes.flatMap((a) => scene.shapes.filter((b) => b !== a).map((b) => [a, b] as const));
  if (pairs.length > 0 && chance(r, 0.5)) {
    const [a, b] = r.choice(pairs);
    const rels = (['left', 'right', 'above', 'below'] as const).filter((rel) => relation(a, b, rel) !== null);
    const rel = r.choice(rels);
    const holds = relation(a, b, rel)!;
    const refA = r.choice(references(scene, a, 'place'));
    const refB = r.choice(references(scene, b, 'place'));
    const question = r.choice([`Is ${refA} ${REL_PHRASE[rel]} ${refB}?`, `Is ${refA} placed ${REL_PHRASE[rel]} ${refB}?`, `Does ${refA} appear ${REL_PHRASE[rel]} ${refB}?`]);
    const informative = holds ? `Yes, ${refA} is ${REL_PHRASE[rel]} ${refB}.` : `No, ${refA} is ${REL_PHRASE[OPPOSITE[rel]]} ${refB}.`;
    return { question, informative, precise: yesNo(holds) };
  }
  const s = r.choice(scene.shapes);
  const ref = r.choice(references(scene, s, 'place'));
  const question = r.choice([`Where is ${ref}?`, `In which part of the picture is ${ref}?`, `Where can ${ref} be found?`]);
  return { question, informative: `${capitalise(ref)} is ${placePhrase(s.cell)}.`, precise: GENERAL_PLACES[s.cell] };
}

function yesno(r: PyRandom, scene: GeneralScene): Draft | null {
  const want = chance(r, 0.5);
  const kind = r.choice(['pair', 'shape', 'background', 'same'] as const);
  if (kind === 'pair') {
    const absent = COLOUR_NAMES.flatMap((c) => SHAPES.map((sh) => [c, sh] as const)).filter(([c, sh]) => !scene.shapes.some((o) => o.colour === c && o.shape === sh));
    const present = scene.shapes.map((o) => [o.colour, o.shape] as const);
    const [c, sh] = r.choice(want ? present : absent);
    const question = r.choice([`Is there ${article(c)} ${c} ${sh} in the picture?`, `Does the image contain ${article(c)} ${c} ${sh}?`, `Can you see ${article(c)} ${c} ${sh}?`]);
    const s = scene.shapes.find((o) => o.colour === c && o.shape === sh);
    const informative = s ? `Yes, there is a ${describe(s)} ${placePhrase(s.cell)}.` : `No, there is no ${c} ${sh} in the picture.`;
    return { question, informative, precise: yesNo(!!s) };
  }
  if (kind === 'shape') {
    const sh = r.choice(SHAPES);
    const n = scene.shapes.filter((o) => o.shape === sh).length;
    const question = r.choice([`Are there any ${SHAPE_PLURALS[sh]}?`, `Does the picture have any ${SHAPE_PLURALS[sh]}?`]);
    const informative = n > 0 ? `Yes, there ${n === 1 ? 'is' : 'are'} ${counted(n, sh, SHAPE_PLURALS[sh])}.` : `No, there are no ${SHAPE_PLURALS[sh]}.`;
    return { question, informative, precise: yesNo(n > 0) };
  }
  if (kind === 'background') {
    const asked = want ? scene.background : r.choice(BACKGROUNDS.filter((b) => b !== scene.background));
    const question = r.choice([`Is the background ${asked}?`, `Does the picture have a ${asked} background?`]);
    const informative = want ? `Yes, the background is ${scene.background}.` : `No, the background is ${scene.background}.`;
    return { question, informative, precise: yesNo(want) };
  }
  if (scene.shapes.length < 2) return null;
  const same = scene.shapes.every((o) => o.colour === scene.shapes[0].colour);
  const question = r.choice(['Do all the shapes have the same colour?', 'Are all the shapes one colour?']);
  const informative = same ? `Yes, all the shapes are ${scene.shapes[0].colour}.` : 'No, the shapes have different colours.';
  return { question, informative, precise: yesNo(same) };
}

function choice(r: PyRandom, scene: GeneralScene): Draft {
  const s = r.choice(scene.shapes);
  const kind = r.choice(['colour', 'shape', 'count', 'place'] as const);
  let stem: string;
  let answer: string;
  let pool: readonly string[];
  let because: string;
  if (kind === 'colour' || kind === 'shape') {
    const ref = r.choice(references(scene, s, kind));
    stem = kind === 'colour' ? `What colour is ${ref}?` : `What shape is ${ref}?`;
    answer = kind === 'colour' ? s.colour : s.shape;
    pool = kind === 'colour' ? COLOUR_NAMES : SHAPES;
    because = `${capitalise(ref)} is ${kind === 'shape' ? 'a ' : ''}${answer}.`;
  } else if (kind === 'count') {
    const n = scene.shapes.length;
    stem = 'How many shapes are in the picture?';
    answer = NUMBER_WORDS[n];
    pool = NUMBER_WORDS.slice(1, MAX_GENERAL_SHAPES + 1);
    because = `There ${n === 1 ? 'is' : 'are'} ${counted(n, 'shape', 'shapes')}.`;
  } else {
    const ref = r.choice(references(scene, s, 'place'));
    stem = `Where is ${ref}?`;
    answer = GENERAL_PLACES[s.cell];
    pool = GENERAL_PLACES;
    because = `${capitalise(ref)} is ${placePhrase(s.cell)}.`;
  }
  const { options, letter } = fourOptions(r, answer, pool);
  const question = r.choice([
    `${stem}\n${options.map((o, i) => `${LETTERS[i]}. ${o}`).join('\n')}`,
    `${stem} Options: ${options.map((o, i) => `${LETTERS[i]}. ${o}`).join(', ')}.`,
    `${stem} Choose from ${options.map((o, i) => `(${LETTERS[i]}) ${o}`).join(' ')}.`,
  ]);
  return { question, informative: `${because} The answer is ${letter}.`, precise: letter };
}

function open(r: PyRandom, scene: GeneralScene): Draft | null {
  const kind = r.choice(['background', 'what', 'common'] as const);
  if (kind === 'background') {
    const question = r.choice(['What does the background look like?', 'Describe the background in one word.', 'What kind of background does the picture have?']);
    return { question, informative: `The background is ${scene.background}.`, precise: scene.background };
  }
  if (kind === 'what') {
    const s = r.choice(scene.shapes);
    const where = placePhrase(s.cell);
    const question = r.choice([`What is ${where}?`, `Which object is ${where}?`, `What can you see ${where}?`]);
    return { question, informative: `There is a ${describe(s)} ${where}.`, precise: `${s.colour} ${s.shape}` };
  }
  const tally = new Map<string, number>();
  for (const o of scene.shapes) tally.set(o.colour, (tally.get(o.colour) ?? 0) + 1);
  const ranked = [...tally.entries()].sort((a, b) => b[1] - a[1]);
  if (ranked[0][1] < 2 || ranked[1]?.[1] === ranked[0][1]) return null;
  const [colour, n] = ranked[0];
  const question = r.choice(['Which colour appears most often?', 'What is the most common colour of the shapes?']);
  return { question, informative: `${capitalise(colour)} is the most common colour, with ${counted(n, 'shape', 'shapes')}.`, precise: colour };
}

const MAKERS: Record<GeneralTaskType, Maker> = { attribute, counting, spatial, yesno, choice, open };

/** `TASKS_PER_IMAGE` tasks of distinct types, in random order; a type the scene cannot pose is skipped. */
export function generalTasks(r: PyRandom, scene: GeneralScene): GeneralTask[] {
  const tasks: GeneralTask[] = [];
  for (const type of sample(r, GENERAL_TASK_TYPES, GENERAL_TASK_TYPES.length)) {
    if (tasks.length === TASKS_PER_IMAGE) break;
    const draft = MAKERS[type](r, scene);
    if (draft) tasks.push({ type, ...draft });
  }
  return tasks;
}
