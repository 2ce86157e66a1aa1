// Response composition and single-stage assembly (docs/method.md §7, §8): a triplet becomes one
// synthetic turn pair, then joins the caption task in one conversation per image.
import { PyRandom } from '../pyrandom';
import { pyStrip, removeAll, countOccurrences } from '../pytext';
import { BASIC_TEMPLATES, RATIONALE_TEMPLATES, type Template } from './templates';

export interface Triplet {
  question: string;
  informative: string;
  precise: string;
}

export type Route = 'A' | 'B' | 'C';

/** Plain substrings, no word boundaries: `also ` contains `so ` (docs/method.md §12.1). */
const INDICATORS = ['could be ', 'so ', 'thus ', 'therefore ', 'final ', 'answer ', 'result '];

/** A: the informative answer's last sentence concludes; B: the precise answer is a conclusion; C: neither. */
export function chooseRoute(t: Triplet): Route {
  const sentences = pyStrip(t.informative).toLowerCase().split('. ');
  const last = sentences[sentences.length - 1];
  if (INDICATORS.some((w) => last.includes(w))) return 'A';
  const precise = t.precise.toLowerCase();
  if (INDICATORS.some((w) => precise.includes(w))) return 'B';
  return 'C';
}

/** Single-pass literal fill: values are never re-scanned, braces in them stay text. */
export function fillTemplate(text: string, values: Record<string, string>): string {
  return text.replace(/\{(question|answer|cot)\}/g, (m, name: string) => (name in values ? values[name] : m));
}

export interface SyntheticPair {
  route: Route;
  basicTemplate: number;
  rationaleTemplate: number;
  user: string;
  assistant: string;
}

/** Both template draws happen on fresh generators seeded with synId, whatever the route. */
export function composeSynthetic(
  t: Triplet,
  synId: number,
  basic: readonly Template[] = BASIC_TEMPLATES,
  rationale: readonly Template[] = RATIONALE_TEMPLATES,
): SyntheticPair {
  const basicTemplate = new PyRandom(synId).randbelow(basic.length);
  const rationaleTemplate = new PyRandom(synId).randbelow(rationale.length);
  const route = chooseRoute(t);
  let values: Record<string, string>;
  let tpl: Template;
  if (route === 'A') {
    tpl = basic[basicTemplate];
    values = { question: t.question, answer: t.informative };
  } else if (route === 'B') {
    tpl = basic[basicTemplate];
    values = { question: t.question, answer: `${t.informative} ${t.precise}` };
  } else {
    tpl = rationale[rationaleTemplate];
    values = { question: t.question, cot: t.informative, answer: t.precise };
  }
  return { route, basicTemplate, rationaleTemplate, user: fillTemplate(tpl[0], values), assistant: fillTemplate(tpl[1], values) };
}

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export type Placement = 'start' | 'end';

export type Assembly =
  | { ok: true; placement: Placement; messages: ChatMessage[] }
  | { ok: false; reason: string };

/** Caption-task instruction: every `<image>\n`, then every remaining `<image>`, removed. */
export function captionInstruction(instruction: string): string {
  return removeAll(removeAll(instruction, '<image>\n'), '<image>');
}

/**
 * One conversation per image: the caption task plus the synthetic pair when there is one,
 * ordered by `Random(keptId).choice(["start","end"])`, `<image>\n` on the first user turn.
 * An `<image>` tag anywhere else rejects the item (the original aborts the whole run, D12).
 */
export function assembleConversation(
  instruction: string,
  caption: string,
  synthetic: { user: string; assistant: string } | null,
  keptId: number,
): Assembly {
  const placement = new PyRandom(keptId).choice(['start', 'end'] as const);
  const captionTask: ChatMessage[] = [
    { role: 'user', content: captionInstruction(instruction) },
    { role: 'assistant', content: caption },
  ];
  const synthTask: ChatMessage[] = synthetic
    ? [
        { role: 'user', content: synthetic.user },
        { role: 'assistant', content: synthetic.assistant },
      ]
    : [];
  const messages = placement === 'start' ? [...captionTask, ...synthTask] : [...synthTask, ...captionTask];
  messages[0] = { ...messages[0], content: `<image>\n${messages[0].content}` };
  const tags = messages.reduce((n, m) => n + countOccurrences(m.content, '<image>'), 0);
  if (tags !== 1) return { ok: false, reason: 'image tag inside message text' };
  return { ok: true, placement, messages };
}

/**
 * The second stage of the two-stage baseline: the synthetic pair alone, `<image>\n` on its
 * question. As in assembleConversation, an `<image>` tag inside the text rejects the item.
 */
export function assembleTaskOnly(synthetic: { user: string; assistant: string }): Assembly {
  const messages: ChatMessage[] = [
    { role: 'user', content: `<image>\n${synthetic.user}` },
    { role: 'assistant', content: synthetic.assistant },
  ];
  const tags = messages.reduce((n, m) => n + countOccurrences(m.content, '<image>'), 0);
  if (tags !== 1) return { ok: false, reason: 'image tag inside message text' };
  return { ok: true, placement: 'start', messages };
}
