// The visual-instruction-synthesizer contract (docs/method.md §4, §5.1): the exact prompt a
// synthesizer model continues, and the literal parsing of what it writes. One contract per
// model family; the hints and the caption hint are identical across families.
import { pyStrip } from '../pytext';

export const PRECISE_HINT = 'Answer with a precise response.';
export const INFORMATIVE_HINT = 'Answer with an informative response.';
export const CAPTION_HINT = 'Describe the image.';

export interface SynthContract {
  /** recorded on every task row */
  promptFormat: string;
  /** everything before the caption */
  prefix: string;
  /** closes the caption turn and opens the next user turn */
  afterCaption: string;
  USER_OPEN: string;
  QA_SEP: string;
  TURN_END: string;
  /** end-of-synthesis token (text) and id: the only stop */
  END: string;
  endId: number;
  /** the tokenizer adds a BOS of its own (Llama-3: ids start 128000, 128000) */
  tokenizerAddsBos: boolean;
}

export const LLAMA3_SYSTEM =
  'You are a helpful language and vision assistant. You are able to understand the visual content that the user provides, and assist the user with a variety of tasks using natural language.';

/** The released AdaptLLM/visual-instruction-synthesizer (LLaVA-NeXT-Llama3, `llava_llama_3`). */
export const LLAMA3_SYNTH: SynthContract = {
  promptFormat: 'llava-llama3-synth-v1',
  prefix:
    `<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n${LLAMA3_SYSTEM}<|eot_id|>` +
    `<|start_header_id|>user<|end_header_id|>\n\n<|reserved_special_token_4|>\n${CAPTION_HINT}<|eot_id|>` +
    `<|start_header_id|>assistant<|end_header_id|>\n\n`,
  afterCaption: '<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n',
  USER_OPEN: '<|start_header_id|>user<|end_header_id|>\n\n',
  QA_SEP: '<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
  TURN_END: '<|eot_id|>',
  END: '<|end_of_text|>',
  endId: 128001,
  tokenizerAddsBos: true,
};

/** A Qwen2-VL synthesizer trained with this platform (`<image>\n` convention after the image slot). */
export const QWEN2VL_SYNTH: SynthContract = {
  promptFormat: 'qwen2vl-synth-v1',
  prefix:
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' +
    `<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>\n${CAPTION_HINT}<|im_end|>\n` +
    '<|im_start|>assistant\n',
  afterCaption: '<|im_end|>\n<|im_start|>user\n',
  USER_OPEN: '<|im_start|>user\n',
  QA_SEP: '<|im_end|>\n<|im_start|>assistant\n',
  TURN_END: '<|im_end|>\n',
  END: '<|endoftext|>',
  endId: 151643,
  tokenizerAddsBos: false,
};

export const SYNTH_CONTRACTS = { 'llava-llama3': LLAMA3_SYNTH, qwen2vl: QWEN2VL_SYNTH } as const;

/** The prompt the synthesizer continues: system, caption turn (caption verbatim), open user header. */
export function synthesisPrompt(c: SynthContract, caption: string): string {
  if (caption.trim() === '') throw new Error('an empty caption corrupts the synthesis prompt (D11)');
  return `${c.prefix}${caption}${c.afterCaption}`;
}

export interface QaPair {
  question: string;
  answer: string;
}

const codePoints = (s: string) => [...s];

/** Literal splits (§4.5): a piece that is not exactly question + QA_SEP + answer is skipped. */
export function parseQaTurns(text: string, c: SynthContract): QaPair[] {
  let pieces = text.split(c.USER_OPEN);
  if (!text.endsWith(c.TURN_END)) pieces = pieces.slice(0, -1); // the last turn was cut off
  const trim = codePoints(c.TURN_END).length;
  const pairs: QaPair[] = [];
  for (const piece of pieces) {
    const parts = piece.split(c.QA_SEP);
    if (parts.length !== 2) continue;
    const question = pyStrip(parts[0]);
    // The terminator's length is removed unconditionally, whatever those characters are.
    const cp = codePoints(parts[1]);
    const answer = pyStrip(cp.slice(0, Math.max(0, cp.length - trim)).join(''));
    if (question && answer) pairs.push({ question, answer });
  }
  return pairs;
}

export interface SynthTriplet {
  question: string;
  precise: string;
  informative: string;
}

/** The first question asked in both modes (exact match after the hint) becomes the one triplet (§4.6). */
export function collectTriplet(pairs: QaPair[]): SynthTriplet | null {
  const P = `${PRECISE_HINT}\n`;
  const I = `${INFORMATIVE_HINT}\n`;
  const precise = new Map<string, string>();
  const informative = new Map<string, string>();
  for (const { question, answer } of pairs) {
    if (question.startsWith(P)) {
      const q = question.slice(P.length);
      if (informative.has(q)) return { question: q, precise: answer, informative: informative.get(q)! };
      precise.set(q, answer);
    } else if (question.startsWith(I)) {
      const q = question.slice(I.length);
      if (precise.has(q)) return { question: q, precise: precise.get(q)!, informative: answer };
      informative.set(q, answer);
    }
  }
  return null;
}

export type SynthParse = { ok: true; pairs: QaPair[]; triplet: SynthTriplet } | { ok: false; pairs: QaPair[]; reason: string };

/** Raw synthesizer text → triplet, or why there is none (recorded as a filtered task). */
export function parseSynthesis(text: string, c: SynthContract): SynthParse {
  const pairs = parseQaTurns(text, c);
  if (pairs.length === 0) return { ok: false, pairs, reason: 'unparsable output: no complete question-answer turn' };
  const triplet = collectTriplet(pairs);
  if (!triplet) return { ok: false, pairs, reason: 'no triplet: no question asked in both precise and informative modes' };
  return { ok: true, pairs, triplet };
}
