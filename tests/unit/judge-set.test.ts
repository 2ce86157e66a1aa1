// The world judge's training rows (demo/world/judge-set.ts): deterministic from the seed,
// one " Yes" and one " No" row per seed task, every prompt the filter stage's own judge prompt,
// and every " No" a precise answer of the same kind that the informative answer contradicts.
import fs from 'node:fs';
import path from 'node:path';
import { judgePrompt } from '../../core/judge/prompt';
import { judgeCorpusLines, judgeRowsOf, type JudgeRow } from '../../demo/world/judge-set';
import type { SeedRow } from '../../core/synth/seed-set';
import { generateWorld, WORLD_TEST_SIZE } from '../../demo/world/world';
import { BACKGROUNDS, COLOUR_NAMES, SHAPES, SIZES } from '../../demo/world/general-scene';
import { GENERAL_PLACES } from '../../demo/world/general-text';
import { NUMBER_WORDS } from '../../demo/world/layout';
import { tempDir } from '../helpers/tmp';

const POOLS: readonly (readonly string[])[] = [NUMBER_WORDS, COLOUR_NAMES, SHAPES, SIZES, GENERAL_PLACES, BACKGROUNDS];

let seed: SeedRow[];
beforeAll(async () => {
  const world = await generateWorld({ dir: path.join(tempDir('judge-set'), 'w'), ...WORLD_TEST_SIZE, seed: 5 });
  seed = JSON.parse(fs.readFileSync(world.paths.generalSeed, 'utf8')) as SeedRow[];
});

/** The query block's three fields: what the prompt was filled with. */
function query(row: JudgeRow) {
  const block = row.prompt.slice(judgePrompt('', '', '').indexOf('\n\nQuestion: \nDetailed answer: ') + 2);
  const m = /^Question: ([\s\S]*)\nDetailed answer: (.*)\nShort answer: (.*)\nConsistent:$/.exec(block);
  if (!m) throw new Error(`not a judge prompt's query block: ${JSON.stringify(block)}`);
  return { question: m[1], informative: m[2], precise: m[3] };
}

test('the same seed gives the same rows, another seed another order and other wrong answers', () => {
  const a = judgeRowsOf(seed, { seed: 1 });
  expect(judgeRowsOf(seed, { seed: 1 })).toEqual(a);
  const b = judgeRowsOf(seed, { seed: 2 });
  expect(b).not.toEqual(a);
  expect(new Set(b.filter((r) => r.completion === ' Yes').map((r) => r.prompt))).toEqual(new Set(a.filter((r) => r.completion === ' Yes').map((r) => r.prompt)));
});

test('one Yes and one No per seed task, balanced within every task type, no Open', () => {
  const rows = judgeRowsOf(seed, { seed: 1 });
  const tasks = seed.flatMap((r) => r.tasks);
  expect(rows).toHaveLength(2 * tasks.length);
  expect(new Set(rows.map((r) => r.completion))).toEqual(new Set([' Yes', ' No']));
  const byType = new Map<string, number>();
  const typeOf = new Map(tasks.map((t) => [`${t.question}\n${t.informative}`, t.type]));
  for (const r of rows) {
    const q = query(r);
    const type = typeOf.get(`${q.question}\n${q.informative}`)!;
    byType.set(type, (byType.get(type) ?? 0) + (r.completion === ' Yes' ? 1 : -1));
  }
  expect([...byType.values()].every((d) => d === 0)).toBe(true);
  expect(byType.size).toBeGreaterThanOrEqual(5);
});

test('every prompt is judgePrompt of its task; Yes carries the task\'s own precise answer, No another of the same kind', () => {
  const rows = judgeRowsOf(seed, { seed: 3 });
  const tasks = new Map(seed.flatMap((r) => r.tasks).map((t) => [`${t.question}\n${t.informative}`, t]));
  for (const r of rows) {
    const q = query(r);
    expect(r.prompt).toBe(judgePrompt(q.question, q.informative, q.precise));
    expect(r.prompt.endsWith('\nConsistent:')).toBe(true);
    const t = tasks.get(`${q.question}\n${q.informative}`)!;
    expect(t).toBeDefined();
    if (r.completion === ' Yes') {
      expect(q.precise).toBe(t.precise);
      continue;
    }
    expect(q.precise).not.toBe(t.precise);
    if (['yes', 'no'].includes(t.precise)) expect(q.precise).toBe(t.precise === 'yes' ? 'no' : 'yes');
    else if (/^[A-D]$/.test(t.precise)) expect(q.precise).toMatch(/^[A-D]$/);
    else {
      const pool = POOLS.find((p) => p.includes(t.precise));
      if (pool) expect(pool).toContain(q.precise);
      else expect(q.precise).toMatch(new RegExp(`^(${COLOUR_NAMES.join('|')}) (${SHAPES.join('|')})$`)); // "what is at …": colour shape
      // a word the informative answer does not say: it cannot be read as consistent with it
      expect(q.precise.split(' ').every((w) => new RegExp(`\\b${w}\\b`, 'i').test(q.informative))).toBe(false);
    }
  }
});

test('prompt "query" gives the same rows with the query block alone as the prompt', () => {
  const full = judgeRowsOf(seed, { seed: 6 });
  const bare = judgeRowsOf(seed, { seed: 6, prompt: 'query' });
  expect(bare.map((r) => r.completion)).toEqual(full.map((r) => r.completion));
  const prefix = judgePrompt('', '', '').slice(0, judgePrompt('', '', '').lastIndexOf('\n\nQuestion:') + 2);
  bare.forEach((r, i) => {
    expect(r.prompt.startsWith('Question: ')).toBe(true);
    expect(prefix + r.prompt).toBe(full[i].prompt);
  });
});

test('maxTasks takes a seeded sample of the tasks', () => {
  const rows = judgeRowsOf(seed, { seed: 4, maxTasks: 10 });
  expect(rows).toHaveLength(20);
  expect(judgeRowsOf(seed, { seed: 4, maxTasks: 10 })).toEqual(rows);
});

test('the corpus lines are the prompt\'s fixed text, without the empty fields', () => {
  const lines = judgeCorpusLines();
  const fixed = judgePrompt('', '', '');
  expect(lines.join('\n')).toBe(fixed.split('\n').filter((l) => l.trim() !== '').join('\n'));
  expect(lines).toContain('Consistent: Yes');
  expect(lines).toContain('Consistent: No');
  expect(lines.every((l) => l.trim() !== '')).toBe(true);
});
