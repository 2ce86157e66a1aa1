// What the world's own models learn from (the steps before adaptDomain): the corpus the
// tokenizer is trained on, the general base model's training rows (the stand-in for a general
// MLLM's instruction data) and the synthesizer's training rows (docs/method.md §5.2, via
// core/synth/seed-set.ts). The benchmark never enters any of them.
import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { PyRandom } from '../../core/pyrandom';
import { seedImagesOf, synthesizerSet, type SeedRow, type SynthesizerSet } from '../../core/synth/seed-set';
import { judgeCorpusLines, judgeRowsOf } from './judge-set';
import type { World } from './world';

type ChatRow = { images: string[]; messages: { role: 'user' | 'assistant'; content: string }[] };

/**
 * The general base model's rows: describe the image, and answer its tasks as a general assistant
 * does, in sentences (the informative answer), except multiple choice, answered by the letter.
 * A benchmark scores recall of the label's words in the answer (open), yes/no (closed) or the
 * letter (choice), so both forms score when right. The turns come in an order drawn from the
 * row's index, the image on the first: an evaluation asks one question right after the image,
 * and a model that only ever saw "Describe the image." there learns neither to answer a first
 * question nor to stop after it.
 */
export function baseRowsOf(rows: readonly SeedRow[]): ChatRow[] {
  return rows.map((r, i) => {
    const turns = [
      { user: 'Describe the image.', assistant: r.caption },
      ...r.tasks.map((t) => ({ user: t.question, assistant: t.type === 'choice' ? t.precise : t.informative })),
    ];
    new PyRandom(i).shuffle(turns);
    return {
      images: [r.image],
      messages: turns.flatMap((t, j) => [
        { role: 'user' as const, content: j === 0 ? `<image>\n${t.user}` : t.user },
        { role: 'assistant' as const, content: t.assistant },
      ]),
    };
  });
}

/** Every sentence the world's models will read or write, domain captions included (a real tokenizer knows the domain's words; the benchmark is left out). */
export function corpusOf(seed: readonly SeedRow[], domainCaptions: readonly string[]): string[] {
  const hints = ['Describe the image.', 'Answer with a precise response.', 'Answer with an informative response.'];
  return [...hints, ...seed.flatMap((r) => [r.caption, ...r.tasks.flatMap((t) => [t.question, t.informative, t.precise])]), ...domainCaptions];
}

export interface WorldTrainingFiles {
  corpus: string;
  /** the base model's rows (ShareGPT, image paths relative to `imageRoot`) */
  base: string;
  /** the synthesizer's train and dev rows (the same form) */
  synthesizerTrain: string;
  synthesizerDev: string;
  /** the consistency judge's completion rows (judge-set.ts): the whole prompt, and its query block alone (the judge's first lesson) */
  judge: string;
  judgeQuery: string;
  /** the folder image paths in those files are relative to */
  imageRoot: string;
  counts: { baseRows: number; judgeRows: number; judgeQueryRows: number; synthesizer: Pick<SynthesizerSet, 'skipped' | 'blanked'> & { train: number; dev: number } };
}

/**
 * Writes the training files of a world into `out`. The blank image of the recipe (a blank
 * 237x150 JPEG) is written beside the general images' folder and named relatively like them.
 */
export async function writeWorldTrainingFiles(world: World, out: string, o: { judgeTasks?: number; judgeQueryTasks?: number } = {}): Promise<WorldTrainingFiles> {
  const seed = JSON.parse(await fs.readFile(world.paths.generalSeed, 'utf8')) as SeedRow[];
  const pairs = JSON.parse(await fs.readFile(world.paths.domainPairs, 'utf8')) as ChatRow[];
  const imageRoot = path.dirname(world.paths.generalSeed);
  await fs.mkdir(out, { recursive: true });
  const blank = path.join(out, 'blank.jpg');
  await fs.writeFile(blank, await sharp({ create: { width: 237, height: 150, channels: 3, background: '#ffffff' } }).jpeg({ quality: 90 }).toBuffer());
  const synth = synthesizerSet(seedImagesOf(seed), path.relative(imageRoot, blank));
  const base = baseRowsOf(seed);
  // the judge's prompt is ~2k tokens: a sample of the tasks keeps its training to minutes
  const judge = judgeRowsOf(seed, { seed: world.params.seed, maxTasks: o.judgeTasks });
  // a tiny model does not find the one query block after ~430 tokens of fixed demonstrations by
  // itself (it stays at chance); learning the comparison on the block alone first, it does
  const judgeQuery = judgeRowsOf(seed, { seed: world.params.seed + 1, maxTasks: o.judgeQueryTasks, prompt: 'query' });
  const files = {
    judge: path.join(out, 'judge.json'),
    judgeQuery: path.join(out, 'judge-query.json'),
    corpus: path.join(out, 'corpus.txt'),
    base: path.join(out, 'base.json'),
    synthesizerTrain: path.join(out, 'synthesizer-train.json'),
    synthesizerDev: path.join(out, 'synthesizer-dev.json'),
  };
  const domainCaptions = pairs.map((p) => p.messages.find((m) => m.role === 'assistant')?.content ?? '').filter(Boolean);
  // the judge's prompt text too, so the tokenizer learns its words (fewer tokens per prompt)
  await fs.writeFile(files.corpus, [...corpusOf(seed, domainCaptions), ...judgeCorpusLines()].join('\n') + '\n');
  await fs.writeFile(files.judge, JSON.stringify(judge));
  await fs.writeFile(files.judgeQuery, JSON.stringify(judgeQuery));
  await fs.writeFile(files.base, JSON.stringify(base));
  await fs.writeFile(files.synthesizerTrain, JSON.stringify(synth.train));
  await fs.writeFile(files.synthesizerDev, JSON.stringify(synth.dev));
  return { ...files, imageRoot, counts: { baseRows: base.length, judgeRows: judge.length, judgeQueryRows: judgeQuery.length, synthesizer: { train: synth.train.length, dev: synth.dev.length, skipped: synth.skipped, blanked: synth.blanked } } };
}
