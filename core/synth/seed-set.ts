// The synthesizer's own training set from general seed data (docs/method.md §5.2, the authors'
// recipe): per image a caption turn, then its precise and informative QAs as hinted turns in a
// seeded order; per task-name group a seeded order in which one image in ten is blanked (the
// "modality balancing" that makes the synthesizer use the caption) and a 90/10 train/dev split;
// the train parts shuffled together. Pure and deterministic (CPython's generator, core/pyrandom).
import { PyRandom } from '../pyrandom';
import { CAPTION_HINT, INFORMATIVE_HINT, PRECISE_HINT } from './contract';

export interface SeedQa {
  question: string;
  answer: string;
  /** the task it came from (the image's last precise QA names its group) */
  task: string;
}

export interface SeedImage {
  image: string;
  caption: string;
  precise: SeedQa[];
  informative: SeedQa[];
}

/**
 * One row of a seed file (trainSynthesizer's input, the demo world's general/seed.json): an image,
 * its caption and its tasks, each with a precise and an informative answer to one question.
 */
export interface SeedRow {
  image: string;
  caption: string;
  tasks: { type: string; question: string; informative: string; precise: string }[];
}

/** The seed rows as the recipe takes them: each task gives one precise and one informative QA. */
export function seedImagesOf(rows: readonly SeedRow[]): SeedImage[] {
  return rows.map((r) => ({
    image: r.image,
    caption: r.caption,
    precise: r.tasks.map((t) => ({ question: t.question, answer: t.precise, task: t.type })),
    informative: r.tasks.map((t) => ({ question: t.question, answer: t.informative, task: t.type })),
  }));
}

export interface SynthesizerRow {
  /** the image's path, or the blank image's where this row was blanked */
  images: [string];
  messages: { role: 'user' | 'assistant'; content: string }[];
}

export interface SynthesizerSet {
  train: SynthesizerRow[];
  dev: SynthesizerRow[];
  /** images left out for want of a precise or an informative QA */
  skipped: number;
  blanked: number;
}

/** The original's image tag on a question: a leading `<image>\n` or a trailing `\n<image>` (removed); any other placement is an error there too. */
function untagged(q: string): string {
  if (q.startsWith('<image>\n')) return q.slice('<image>\n'.length);
  if (q.endsWith('\n<image>')) return q.slice(0, -'\n<image>'.length);
  if (q.includes('<image>')) throw new Error(`seed question with the image tag inside: ${JSON.stringify(q)}`);
  return q;
}

/** §5.2 steps 1–6. `blank` is the blank image's path. */
export function synthesizerSet(seed: readonly SeedImage[], blank: string): SynthesizerSet {
  const groups = new Map<string, SynthesizerRow[]>();
  let kept = 0;
  let skipped = 0;
  for (const s of seed) {
    if (s.precise.length === 0 || s.informative.length === 0) {
      skipped++;
      continue;
    }
    const pairs = [
      ...s.precise.map((qa) => [`${PRECISE_HINT}\n${untagged(qa.question)}`, qa.answer] as const),
      ...s.informative.map((qa) => [`${INFORMATIVE_HINT}\n${untagged(qa.question)}`, qa.answer] as const),
    ];
    new PyRandom(kept).shuffle(pairs);
    kept++;
    const row: SynthesizerRow = {
      images: [s.image],
      messages: [
        { role: 'user', content: `<image>\n${CAPTION_HINT}` },
        { role: 'assistant', content: s.caption },
        ...pairs.flatMap(([q, a]) => [
          { role: 'user' as const, content: q },
          { role: 'assistant' as const, content: a },
        ]),
      ],
    };
    const task = s.precise[s.precise.length - 1].task;
    if (!groups.has(task)) groups.set(task, []);
    groups.get(task)!.push(row);
  }
  const train: SynthesizerRow[] = [];
  const dev: SynthesizerRow[] = [];
  let blanked = 0;
  for (const rows of groups.values()) {
    new PyRandom(42).shuffle(rows);
    rows.forEach((row, p) => {
      if (new PyRandom(p).weightedChoice([true, false], [10, 90])) {
        row.images = [blank];
        blanked++;
      }
    });
    const cut = Math.floor(0.9 * rows.length);
    train.push(...rows.slice(0, cut));
    dev.push(...rows.slice(cut));
  }
  new PyRandom(12345).shuffle(train);
  return { train, dev, skipped, blanked };
}
