// The consistency judge's few-shot prompt, written by this project (docs/method.md §6.2): a base
// LM, text only, sees one question with an informative and a precise answer and continues
// after "Consistent:" with Yes, No or Open. Six demonstrations, two per label, in the order
// No, Open, Yes, Yes, No, Open; the prompt ends right after the last colon.
import { pyStrip } from '../pytext';

export const JUDGE_PROMPT_VERSION = 'adamllm-judge-v1';

const TASK = [
  'Each example below has a question about an image, a detailed (informative) answer and a short (precise) answer.',
  'Decide whether the short answer is consistent with the detailed one.',
  'Yes: the short answer follows from the detailed answer.',
  'No: it does not follow (another option, a different count, a contradicting fact).',
  'Open: the question allows many valid answers or asks for a description, a caption, an opinion or background knowledge.',
].join('\n');

interface Demo {
  question: string;
  informative: string;
  precise: string;
  label: 'Yes' | 'No' | 'Open';
}

const DEMOS: Demo[] = [
  {
    question: 'Which animal is resting on the sofa?\nOptions: (A) a cat (B) a dog (C) a rabbit (D) a parrot',
    informative: 'A small dog with brown fur is curled up on the sofa cushion, its head resting on its paws, so the animal is a dog.',
    precise: '(A) a cat',
    label: 'No',
  },
  {
    question: 'Point out what is different between the two pictures.',
    informative: 'In the right picture the lamp is switched off, a book lies on the table and the curtains are drawn, while in the left one the lamp is on.',
    precise: 'The lamp.',
    label: 'Open',
  },
  {
    question: 'What kind of vehicle is parked by the curb?\nOptions: (A) a bicycle (B) a bus (C) a truck (D) a scooter',
    informative: 'A red bicycle with a wicker basket leans against the curb next to a lamppost, its front wheel turned slightly outward.',
    precise: '(A) a bicycle',
    label: 'Yes',
  },
  {
    question: 'Is it raining in this street scene? Answer yes or no.',
    informative: 'The pavement is wet and shining, people hold open umbrellas and drops are visible in the light of the shop windows, so it is raining.',
    precise: 'Yes',
    label: 'Yes',
  },
  {
    question: 'How many apples are in the bowl?',
    informative: 'The glass bowl holds three green apples and one red apple, four apples in all, next to a bunch of bananas.',
    precise: 'Three',
    label: 'No',
  },
  {
    question: 'Write a caption for this photo.',
    informative: 'A sunlit kitchen with an open window, a kettle on the stove and fresh herbs growing in pots along the sill.',
    precise: 'A kitchen.',
    label: 'Open',
  },
];

const block = (q: string, inf: string, pre: string, label: string) =>
  `Question: ${q}\nDetailed answer: ${inf}\nShort answer: ${pre}\nConsistent:${label === '' ? '' : ` ${label}`}`;

const TEMPLATE = `${TASK}\n\n${DEMOS.map((d) => block(d.question, d.informative, d.precise, d.label)).join('\n\n')}\n\n${block('{question}', '{informative}', '{precise}', '')}`;

/** Fills the three placeholders in one pass with a replacer function: values stay literal ($&, braces). */
export function judgePrompt(question: string, informative: string, precise: string): string {
  const values: Record<string, string> = { question, informative, precise };
  return TEMPLATE.replace(/\{(question|informative|precise)\}/g, (_m, k: string) => values[k]);
}

export type JudgeLabel = 'YES' | 'NO' | 'OPEN' | 'OTHER';

/** label = lower(strip(text)); the task is kept only when that is exactly "yes" (§6.3). */
export function parseJudgeLabel(text: string): { label: JudgeLabel; keep: boolean } {
  const t = pyStrip(text).toLowerCase();
  const label: JudgeLabel = t === 'yes' ? 'YES' : t === 'no' ? 'NO' : t === 'open' ? 'OPEN' : 'OTHER';
  return { label, keep: t === 'yes' };
}
