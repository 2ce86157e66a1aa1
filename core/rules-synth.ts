// The "manual rules" baseline synthesizer: turns a caption into one (question, informative,
// precise) triplet with hand-written rules, the same shape a model synthesizer yields, so
// filter and compose treat both alike. The rule is drawn with Random(synId) among those
// that apply, so a run is reproducible.
import { PyRandom } from './pyrandom';
import { pyStrip } from './pytext';
import type { Triplet } from './compose/compose';

export const RULES_SYNTHESIZER_VERSION = 'rules-v1';

export type RuleName = 'describe' | 'key-term' | 'fill-blank' | 'count';

export type RuleOutcome = { ok: true; rule: RuleName; triplet: Triplet } | { ok: false; reason: string };

const STOPWORDS = new Set(
  'about above after again against along among around because before behind below beneath beside between beyond could during either every image picture photo photograph their there these those through under until which while whose within without would shows showing shown'.split(' '),
);

const NUMBER_WORDS = ['two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

/** Sentences end at . ! ? followed by whitespace; the final piece keeps its punctuation. */
export function splitSentences(text: string): string[] {
  return pyStrip(text)
    .split(/(?<=[.!?])\s+/u)
    .map((s) => pyStrip(s))
    .filter((s) => s.length > 0);
}

function words(sentence: string): string[] {
  return sentence.match(/[\p{L}][\p{L}'-]*/gu) ?? [];
}

/** The longest content word (5+ letters, not a stop word); ties go to the first. */
function keyTerm(sentence: string): string | null {
  let best: string | null = null;
  for (const w of words(sentence)) {
    if (w.length < 5 || STOPWORDS.has(w.toLowerCase())) continue;
    if (!best || w.length > best.length) best = w;
  }
  return best;
}

function stripEnd(s: string): string {
  return s.replace(/[.!?]+$/u, '');
}

type Rule = (caption: string, sentences: string[]) => Triplet | null;

const RULES: Record<RuleName, Rule> = {
  describe: (caption, sentences) =>
    words(caption).length >= 4
      ? { question: 'What does this image show?', informative: pyStrip(caption), precise: stripEnd(sentences[0]) }
      : null,
  'key-term': (_c, sentences) => {
    const term = keyTerm(sentences[0]);
    if (!term) return null;
    return {
      question: `Is "${term.toLowerCase()}" relevant to what this image shows? Answer yes or no.`,
      informative: `Yes. ${sentences[0]}`,
      precise: 'Yes',
    };
  },
  'fill-blank': (_c, sentences) => {
    const sentence = sentences.find((s) => words(s).length >= 6);
    const term = sentence ? keyTerm(sentence) : null;
    if (!sentence || !term) return null;
    const blanked = sentence.replace(term, '____');
    return {
      question: `Fill in the blank so the sentence describes this image: "${blanked}"`,
      informative: `The completed sentence reads: "${sentence}"`,
      precise: term,
    };
  },
  count: (_c, sentences) => {
    const pattern = new RegExp(`(?:^|\\s)(\\d{1,3}|${NUMBER_WORDS.join('|')})\\s+([\\p{L}][\\p{L}-]{2,})`, 'iu');
    for (const s of sentences) {
      const m = pattern.exec(s);
      if (m) {
        return { question: `How many ${m[2].toLowerCase()} are there in this image?`, informative: s, precise: m[1] };
      }
    }
    return null;
  },
};

export const RULE_NAMES = Object.keys(RULES) as RuleName[];

/** Applies the rules that fit the caption and picks one with Random(synId). */
export function synthesizeByRules(caption: string, synId: number): RuleOutcome {
  const sentences = splitSentences(caption);
  if (sentences.length === 0) return { ok: false, reason: 'empty caption' };
  const candidates: { rule: RuleName; triplet: Triplet }[] = [];
  for (const rule of RULE_NAMES) {
    const triplet = RULES[rule](caption, sentences);
    if (triplet) candidates.push({ rule, triplet });
  }
  if (candidates.length === 0) return { ok: false, reason: 'no rule applies (caption too short)' };
  const pick = new PyRandom(synId).choice(candidates);
  return { ok: true, ...pick };
}
