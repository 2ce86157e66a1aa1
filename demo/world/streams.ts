// Seeded randomness for the procedural world. Every image draws from its own generator, keyed
// by (world seed, stream, index, attempt), so an item's content never depends on how many
// draws the items before it made, on the order in which concurrent renders finish, or on the
// sizes asked for: image 7 of a 20-image world is image 7 of a 3,000-image world.
import { createHash } from 'node:crypto';
import { PyRandom } from '../../core/pyrandom';

/** The streams a world draws from; a new kind of item gets a new name, never a reused one. */
export type Stream = 'general' | 'domain' | 'vqa' | 'choice' | 'gold';

/** A fresh generator for one item; `attempt` > 0 redraws an item whose image collided. */
export function streamRandom(seed: number, stream: Stream, index: number, attempt = 0): PyRandom {
  const digest = createHash('sha256').update(`adamllm-world/${seed}/${stream}/${index}/${attempt}`).digest();
  // 48 bits: a safe integer, and more than enough to keep items apart.
  return new PyRandom(digest.readUIntBE(0, 6));
}

/** An integer in [lo, hi], both included. */
export function intIn(r: PyRandom, lo: number, hi: number): number {
  return lo + r.randbelow(hi - lo + 1);
}

/** A float in [lo, hi). */
export function uniform(r: PyRandom, lo: number, hi: number): number {
  return lo + (hi - lo) * r.random();
}

/** True with probability p. */
export function chance(r: PyRandom, p: number): boolean {
  return r.random() < p;
}

/** k distinct elements in random order (k is clamped to the length). */
export function sample<T>(r: PyRandom, xs: readonly T[], k: number): T[] {
  return r.shuffle([...xs]).slice(0, Math.min(k, xs.length));
}

/**
 * Multiple-choice options: the answer and three distractors from `pool`, shuffled; the
 * answer's letter. No option is part of another ("centre" beside "upper centre"), because
 * the benchmark's parser matches option texts as substrings and the later match wins
 * (docs/method.md §10.6): an answer written out in words must select one option only.
 */
export function fourOptions(r: PyRandom, answer: string, pool: readonly string[]): { options: string[]; letter: string } {
  const chosen = [answer];
  for (const x of r.shuffle([...pool])) {
    if (chosen.length === 4) break;
    if (!chosen.some((c) => c.includes(x) || x.includes(c))) chosen.push(x);
  }
  if (chosen.length < 4) throw new Error(`fourOptions: the pool for "${answer}" has fewer than three distinct distractors`);
  const options = r.shuffle(chosen);
  return { options, letter: LETTERS[options.indexOf(answer)] };
}

export const LETTERS = ['A', 'B', 'C', 'D'] as const;
