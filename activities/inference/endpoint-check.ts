// `adamllm check-endpoint`: before a run spends hours on a server, send it one request of the
// stage's kind, built exactly as the stage builds it, and compare the prompt the server made of
// it (vLLM's `return_token_ids`) with the method's prompt as the server's own tokenizer encodes
// it (`POST /tokenize`). A chat template that writes other text, a missing or doubled BOS, an
// image slot the template leaves out, a stop token the vocabulary does not have, or a server
// that is not vLLM (its card lacks vLLM's fields, its requests' extensions are ignored) is named,
// with the first tokens that differ.
import sharp from 'sharp';
import { evalPrompt } from '../../core/eval/prompts';
import { EVAL_MAX_PIXELS, EVAL_MIN_PIXELS } from '../../core/eval/smart-resize';
import { TRAIN_IMAGE_MAX_PIXELS, TRAIN_IMAGE_MIN_PIXELS } from '../../core/synth/image-size';
import { SYNTH_CONTRACTS } from '../../core/synth/contract';
import { prepareEvalImage } from '../evaluate/eval-image';
import { evaluationDecoding, evaluationRequest } from '../evaluate/evaluation-request';
import { prepareSynthImage } from '../synthesize/synth-image';
import { synthesisDecoding, synthesisRequest } from '../synthesize/synthesis-request';
import type { Decoding, GenerateRequest } from './backend';
import { OpenAIBackend } from './openai-backend';

export type CheckedStage = 'synthesize' | 'evaluate';
export type CheckedFormat = 'qwen2vl' | 'llava-llama3';

export interface EndpointCheckOptions {
  baseUrl: string;
  model: string;
  apiKey?: string;
  stage: CheckedStage;
  /** synthesize: the promptFormat; evaluate: the promptFamily */
  format: CheckedFormat;
}

export interface EndpointCheck {
  ok: boolean;
  /** what was found, one line each */
  notes: string[];
  /** what differs from what the method needs, one line each; empty when ok */
  problems: string[];
}

const CAPTION = 'A bowl of tomato soup with basil on a wooden table.';
const QUESTION = 'What is shown in the image?';
/** the image slot each format's prompt carries (the model's processor expands it into patches) */
const IMAGE_SLOT: Record<CheckedFormat, string> = { qwen2vl: '<|image_pad|>', 'llava-llama3': '<|reserved_special_token_4|>' };

/** The stage's request for a made-up item (synthesis-request.ts, evaluation-request.ts), the method's prompt for it, and whether its tokenizer adds special tokens. */
async function stageRequest(o: EndpointCheckOptions): Promise<{ request: GenerateRequest; decoding: Decoding; prompt: string; addSpecialTokens: boolean }> {
  const photo = new Uint8Array(await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 190, g: 70, b: 40 } } }).png().toBuffer());
  if (o.stage === 'synthesize') {
    // qwen2vl images go at the trainer's default scale (the stage's default imageMaxPixels/imageMinPixels)
    const image = o.format === 'qwen2vl' ? (await prepareSynthImage(photo, { maxPixels: TRAIN_IMAGE_MAX_PIXELS, minPixels: TRAIN_IMAGE_MIN_PIXELS })).bytes : photo;
    const request = synthesisRequest(o.format, CAPTION, image);
    return { request, decoding: synthesisDecoding(o.format, 16), prompt: request.prompt, addSpecialTokens: SYNTH_CONTRACTS[o.format].tokenizerAddsBos };
  }
  const p = evalPrompt(o.format, QUESTION);
  const image = await prepareEvalImage(photo, { family: o.format, minPixels: EVAL_MIN_PIXELS, maxPixels: EVAL_MAX_PIXELS });
  return { request: evaluationRequest(p, image), decoding: evaluationDecoding(16), prompt: p.prompt, addSpecialTokens: p.chat.addSpecialTokens ?? false };
}

/**
 * Where the server's prompt ids differ from the wanted ones, allowing at the image slot (one id
 * in `want`) a run of one repeated id in `got` (the processor's patches): undefined when they
 * match, else the first differing positions in each.
 */
export function firstDifference(want: number[], got: number[], slot: number | undefined): { want: number; got: number } | undefined {
  let i = 0;
  let j = 0;
  while (i < want.length && j < got.length) {
    if (want[i] === slot && (got[j] !== want[i] || got[j + 1] === got[j])) {
      const id = got[j];
      while (j < got.length && got[j] === id) j++;
      i++;
      continue;
    }
    if (want[i] !== got[j]) return { want: i, got: j };
    i++;
    j++;
  }
  return i === want.length && j === got.length ? undefined : { want: i, got: j };
}

export async function checkEndpoint(o: EndpointCheckOptions): Promise<EndpointCheck> {
  const notes: string[] = [];
  const problems: string[] = [];
  const backend = await OpenAIBackend.connect({ baseUrl: o.baseUrl, model: o.model, apiKey: o.apiKey, maxRetries: 1 });
  const card = backend.served;
  notes.push(`model card: owned_by ${card.ownedBy ?? '(none)'}, root ${card.root ?? '(none)'}, max_model_len ${card.maxModelLen ?? '(none)'}`);
  const vllmLike = card.root !== undefined && card.maxModelLen !== undefined;
  if (!vllmLike) {
    problems.push(
      'the model card lacks vLLM\'s root and max_model_len: this server is not vLLM, so it may ignore the request extensions the method needs (ignore_eos, stop_token_ids, continue_final_message, add_generation_prompt: false, add_special_tokens), and a run cannot tell one checkpoint from another under the same name: set the spec\'s model.revision',
    );
  }

  const { request, decoding, prompt, addSpecialTokens } = await stageRequest(o);
  const want = await backend.serverTokens(prompt, addSpecialTokens);
  if (!want) {
    problems.push('the server has no POST /tokenize (vLLM\'s): the prompt cannot be checked, and stop tokens would go as strings');
    return { ok: false, notes, problems };
  }
  if (o.stage === 'synthesize') {
    // the only stop: one token of the served vocabulary, and for the released model the id the request names
    const contract = SYNTH_CONTRACTS[o.format];
    const end = await backend.serverTokens(contract.END, false);
    const fixed = decoding.stopTokenIds?.length ? contract.endId : undefined;
    if (end?.length !== 1 || (fixed !== undefined && end[0] !== fixed)) {
      problems.push(`the end-of-synthesis token ${contract.END} is ${JSON.stringify(end)} in the served vocabulary, not one token${fixed !== undefined ? ` with id ${fixed}` : ''}: the served model is not of the family the ${o.format} format is for`);
    }
  }
  const [slot] = (await backend.serverTokens(IMAGE_SLOT[o.format], false)) ?? [];
  let sent;
  try {
    sent = await backend.inspect(request, decoding);
  } catch (e) {
    problems.push(`the server refused the stage's request: ${(e as Error).message}`);
    return { ok: false, notes, problems };
  }
  notes.push(`stop: ${JSON.stringify({ ignore_eos: sent.body.ignore_eos ?? false, stop_token_ids: sent.body.stop_token_ids ?? [], stop: sent.body.stop ?? [] })}`);
  if (decoding.stopTokens?.length && !sent.body.stop_token_ids) problems.push(`the stop token ${JSON.stringify(decoding.stopTokens)} could not be looked up as an id: it would be matched as text only`);
  if (!sent.promptIds) {
    problems.push('the server returned no prompt token ids (vLLM\'s return_token_ids): the prompt it built cannot be checked');
    return { ok: false, notes, problems };
  }
  notes.push(`prompt: ${sent.promptIds.length} ids from the server, ${want.length} in the method's prompt (its image slot expanded by the server)`);
  if (slot !== undefined && !sent.promptIds.includes(slot) && want.includes(slot)) notes.push(`the image slot ${IMAGE_SLOT[o.format]} (${slot}) is not in the server's prompt as such: checked as a run of the processor's own id`);
  const diff = firstDifference(want, sent.promptIds, slot);
  if (diff) {
    const around = async (ids: number[], at: number) => JSON.stringify((await backend.detokenize(ids.slice(Math.max(0, at - 4), at + 6))) ?? ids.slice(Math.max(0, at - 4), at + 6).join(' '));
    problems.push(
      `the prompt the server built differs from the method's at token ${diff.got} (method's token ${diff.want}): ` +
        `method ${await around(want, diff.want)}, server ${await around(sent.promptIds, diff.got)}` +
        (o.format === 'llava-llama3' ? ' (serve the model with --chat-template core/chat/templates/llava-llama3.jinja)' : ' (the served chat template does not write the method\'s prompt)'),
    );
  }
  if (sent.text !== undefined) notes.push(`answer (${sent.finishReason ?? '?'}): ${JSON.stringify(sent.text.slice(0, 120))}`);
  return { ok: problems.length === 0, notes, problems };
}
